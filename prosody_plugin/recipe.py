"""What a prosody1 recipe has trained and decoded, and what its stages decide from it.

The shell recipe (egs2/TEMPLATE/prosody1/prosody.sh) builds paths and launches jobs; this module
reads each experiment's config.yaml, asks the registry (:mod:`prosody_plugin.systems`) what
its system is, and runs stages 12-14 (scoring, listening material, MUSHRA scores), each tool
through the recipe's job launcher (cmd.sh). See docs/recipes.md.
"""

import datetime
import logging
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from prosody_plugin import systems
from prosody_plugin.systems import BASELINE, DEFAULT, PREDICTED, REFERENCE, SYSTEMS

log = logging.getLogger("prosody.sh")


class RecipeError(Exception):
    """A recipe decision that cannot be made (missing experiment, unknown predictor, ...)."""


def read_yaml(path) -> Dict[str, Any]:
    """A yaml mapping; RecipeError naming the file when it is missing or not a mapping."""
    if not Path(path).is_file():
        raise RecipeError(f"{path} is missing")
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path} is not a yaml mapping")
    return data


def yaml_value(path, key: str) -> str:
    """A top-level value of a yaml file as the shell passes it on (empty when absent)."""
    value = read_yaml(path).get(key)
    return "" if value is None else str(value)


def exp_name(config: str, prefix: str, tag_suffix: str = "") -> str:
    """The experiment dir name of a config: ``<prefix>_<config name without extension><suffix>``."""
    name = os.path.basename(config)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{prefix}_{stem}{tag_suffix}"


def demote_headings(text: str) -> str:
    """One more ``#`` on every line that starts with one (a report inside RESULTS.md)."""
    return "\n".join("#" + line if line.startswith("#") else line for line in text.split("\n"))


def keep_lines(keys: Path, inputs: Iterable[Path], output: Path, sort: bool) -> None:
    """Write the lines of ``inputs`` whose first field is a first field of ``keys``.

    With ``sort``, in the byte order of the first field (then of the line), as ``LC_ALL=C sort -k1,1``.
    """
    with open(keys, "rb") as f:
        wanted = {line.split()[0] for line in f if line.split()}
    kept = []
    for path in inputs:
        with open(path, "rb") as f:
            for line in f:
                fields = line.split()
                if fields and fields[0] in wanted:
                    kept.append(line if line.endswith(b"\n") else line + b"\n")
    if sort:
        kept.sort(key=lambda line: (line.split()[0], line))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as f:
        f.writelines(kept)


def unpack_model(tag: str) -> Dict[str, str]:
    """Unpack a packed ESPnet model (zip or model-zoo tag) once; its train_config and model_file."""
    from espnet_model_zoo.downloader import ModelDownloader

    unpacked = ModelDownloader().download_and_unpack(tag)
    missing = [key for key in ("train_config", "model_file") if not unpacked.get(key)]
    if missing:
        raise RecipeError(f"{tag} unpacks without a {', '.join(missing)}: {unpacked}")
    return {key: unpacked[key] for key in ("train_config", "model_file")}


@dataclass
class Recipe:
    """The experiments of a recipe run: its train and context configs, named as prosody.sh names them."""

    expdir: str = "exp"
    train_configs: List[str] = field(default_factory=list)
    context_configs: List[str] = field(default_factory=list)
    tag_suffix: str = ""
    inference_tag: str = "decode_valid.loss.ave"

    def tts_exp(self, config: str) -> str:
        return f"{self.expdir}/{exp_name(config, 'tts', self.tag_suffix)}"

    def context_exp(self, config: str) -> str:
        return f"{self.expdir}/{exp_name(config, 'context', self.tag_suffix)}"

    def model_type(self, exp: str) -> Optional[str]:
        """The ``tts`` of a trained experiment's config.yaml (None before it is trained)."""
        config = Path(exp) / "config.yaml"
        return read_yaml(config).get("tts") if config.is_file() else None

    def stage_one_exp(self, system: str) -> Optional[str]:
        """The experiment dir of the first train config of a system that has been trained."""
        for config in self.train_configs:
            exp = self.tts_exp(config)
            if self.model_type(exp) == system:
                return exp
        return None

    def require_stage_one_exp(self, system: str, purpose: str = "") -> str:
        exp = self.stage_one_exp(system)
        if exp is None:
            raise RecipeError(
                purpose or f"no trained {system} system among --train_configs ({' '.join(self.train_configs)})"
            )
        return exp

    def context_system(self, config: str) -> str:
        """The stage-one system a context config's predictor belongs to."""
        predictor = read_yaml(config).get("predictor")
        try:
            return systems.system_of_predictor(predictor)
        except ValueError as e:
            raise RecipeError(f"{config}: {e}") from None

    def context_exp_of(self, system: str) -> Optional[str]:
        """The stage-two experiment dir of the first context config of a system."""
        for config in self.context_configs:
            if self.context_system(config) == system:
                return self.context_exp(config)
        return None

    def stage_one_decodes(self) -> List[Tuple[str, List[str]]]:
        """Stage 7: each train config's experiment and its prosody sources (first: the calibration's)."""
        plan = []
        for config in self.train_configs:
            exp = self.tts_exp(config)
            name = read_yaml(Path(exp) / "config.yaml").get("tts")
            sources = systems.prosody_sources(name) if name in (BASELINE, *SYSTEMS) else []
            plan.append((exp, sources or [DEFAULT]))
        return plan

    def prosody_exps(self) -> List[Tuple[str, str]]:
        """Each prosody system with a trained stage one: (system, experiment dir), registry order."""
        return [(name, exp) for name in SYSTEMS if (exp := self.stage_one_exp(name)) is not None]

    def stage_two_pairs(self) -> List[Dict[str, str]]:
        """Stages 10, 11, 15, 16: each context config with its system, predictor, size and experiments."""
        pairs = []
        for config in self.context_configs:
            system = self.context_system(config)
            tts_exp = self.require_stage_one_exp(system)
            size_key = systems.system_class(system).size_key
            tts_conf = read_yaml(Path(tts_exp) / "config.yaml").get("tts_conf") or {}
            pairs.append(
                dict(
                    config=config,
                    system=system,
                    predictor=read_yaml(config)["predictor"],
                    size_key=size_key,
                    size=str(systems.representation_size(system, tts_conf)),
                    tts_exp=tts_exp,
                    context_exp=self.context_exp(config),
                )
            )
        return pairs

    def bert_model(self) -> str:
        """The BERT model the context configs name (frontend_conf.bert_model); they must agree."""
        named = ""
        for config in self.context_configs:
            model = (read_yaml(config).get("frontend_conf") or {}).get("bert_model") or ""
            if model and named and model != named:
                raise RecipeError(
                    f"the context configs name different BERT models ({named}, {model}); stage 8 extracts one"
                )
            named = model or named
        return named

    def recipe_decodes(self, dset: str) -> List[Tuple[str, str]]:
        """The decodes of a test set by the recipe's systems: (decode name, dir), registry order."""
        found = []
        for name in (BASELINE, *SYSTEMS):
            exp = self.stage_one_exp(name)
            if exp is None:
                continue
            names = systems.decodes(name)
            for source in [*systems.prosody_sources(name), PREDICTED]:
                decode_dir = f"{exp}/{self.inference_tag}/{dset}/{source}"
                if source in names and Path(decode_dir, "wav.scp").is_file():
                    found.append((names[source][0], decode_dir))
        return found

    def extra_decode_dir(self, name: str, dset: str) -> str:
        return f"{self.expdir}/extra_{name}/{self.inference_tag}/{dset}"

    def decoded_systems(self, dset: str, extra_baselines: Sequence[str]) -> List[Tuple[str, str]]:
        """recipe_decodes and the extra baselines ("name=tag") that stage 12 has decoded."""
        found = self.recipe_decodes(dset)
        for extra in extra_baselines:
            name = extra.split("=", 1)[0]
            if Path(self.extra_decode_dir(name, dset), "wav.scp").is_file():
                found.append((name, self.extra_decode_dir(name, dset)))
        return found

    @staticmethod
    def oracle_args(decoded_names: Sequence[str]) -> List[str]:
        """Stage 12's --oracle and --movement pairs: each system against its own oracle."""
        args = []
        for name in SYSTEMS:
            names = {source: label for source, (label, _) in systems.decodes(name).items()}
            oracle = names.get(REFERENCE)
            if oracle not in decoded_names:
                continue
            if names.get(DEFAULT) in decoded_names:
                args += ["--oracle", f"{names[DEFAULT]}={oracle}", "--movement", f"{oracle}={names[DEFAULT]}"]
            if names.get(PREDICTED) in decoded_names:
                args += ["--oracle", f"{names[PREDICTED]}={oracle}"]
        return args

    def one_to_many(self) -> Optional[Tuple[str, str, str]]:
        """The first trained system whose stage two samples: (system, stage-one exp, context exp)."""
        for name in SYSTEMS:
            if not systems.system_class(name).one_to_many:
                continue
            exp, context = self.stage_one_exp(name), self.context_exp_of(name)
            if exp is not None and context is not None:
                return name, exp, context
        return None


@dataclass
class Stages:
    """What stages 12-14 read besides the experiments: prosody.sh's dirs and options."""

    recipe: Recipe
    test_sets: List[str]
    train_set: str = "train"
    valid_set: str = "dev"
    data_feats: str = "dump/raw"
    durations_dir: str = "dump/durations"
    context_dir: str = "dump/context"
    targets_dir: str = "dump/prosody_targets"
    inference_model: str = "valid.loss.ave.pth"
    extra_baselines: List[str] = field(default_factory=list)
    vocoder_file: str = ""
    vocoder_config: str = ""
    cmd: str = ""  # the job launcher (cmd.sh's decode_cmd); empty: run each tool directly
    options: Dict[str, Any] = field(default_factory=dict)

    def launch(self, log_file: str, module: str, args: Sequence[str]) -> None:
        """``python -m prosody_plugin.bin.<module> args`` through the launcher, output in ``log_file``."""
        argv = [sys.executable, "-m", f"prosody_plugin.bin.{module}", *map(str, args)]
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        if self.cmd:
            ok = subprocess.run([*shlex.split(self.cmd), log_file, *argv], stdout=subprocess.DEVNULL).returncode == 0
        else:
            with open(log_file, "w") as f:
                ok = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode == 0
        if not ok:
            lines = Path(log_file).read_text(errors="replace").splitlines()[-20:] if Path(log_file).exists() else []
            raise RecipeError(f"see {log_file}\n" + "\n".join(lines))

    def vocoder_args(self) -> List[str]:
        args = ["--vocoder_file", self.vocoder_file] if self.vocoder_file else []
        return args + (["--vocoder_config", self.vocoder_config] if self.vocoder_config else [])

    def model_args(self, exp: str, prefix: str = "") -> List[str]:
        return [f"--{prefix}train_config", f"{exp}/config.yaml", f"--{prefix}model_file", f"{exp}/{self.inference_model}"]

    def decoded(self, dset: str) -> List[Tuple[str, str]]:
        return self.recipe.decoded_systems(dset, self.extra_baselines)

    def score(self) -> str:
        """Stage 12: every decoded system scored against the recordings; RESULTS<suffix>.md."""
        r, o = self.recipe, self.options
        baseline_exp = r.require_stage_one_exp(
            BASELINE, "scoring needs a FastSpeech2 baseline among --train_configs"
        )
        spread = r.one_to_many()
        results = Path(f"{r.expdir}/RESULTS{r.tag_suffix}.md")
        cwd = Path.cwd()
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        results.write_text(
            f"# Results: {cwd.parent.name}/{cwd.name}\n\n"
            f"Written by stage 12 of prosody.sh on {date}; decoding: {r.inference_tag}.\n"
        )

        def append(md: str) -> None:
            with open(results, "a") as f:
                f.write("\n" + demote_headings(Path(md).read_text()))

        for dset in self.test_sets:
            out = f"{r.expdir}/scores_{r.inference_tag}{r.tag_suffix}/{dset}"
            Path(out).mkdir(parents=True, exist_ok=True)
            decoded = self.decoded(dset)
            recipe_names = [name for name, _ in r.recipe_decodes(dset)]
            ref = [
                "--data_dir", f"{self.data_feats}/{dset}", "--durations", f"{self.durations_dir}/{dset}/durations",
                "--words", f"{self.context_dir}/{dset}/words", *self.model_args(baseline_exp),
            ]
            log.info(f"Stage 12: Scoring {dset}: {out}/scores.md (log: {out}/score.log)")
            systems_args = [a for name, d in decoded for a in ("--system", f"{name}={d}")]
            self.launch(
                f"{out}/score.log", "score_prosody",
                [*ref, *systems_args, *r.oracle_args(recipe_names), "--baseline", BASELINE,
                 "--num_resamples", o["score_resamples"], "--output_dir", out, *self.vocoder_args()],
            )
            append(f"{out}/scores.md")

            if spread is not None and int(o["spread_samples"]) > 1:
                system, exp, context = spread
                spread_dir = f"{out}/spread_{system}"
                title = systems.system_class(system).title
                log.info(f"Stage 12: {title} one-to-many spread over {o['spread_samples']} samples: {spread_dir}/spread.md")
                latents = f"{self.targets_dir}/{os.path.basename(exp)}/{self.train_set}/target.scp"
                self.launch(
                    f"{out}/spread.log", "prosody_spread",
                    [*(["--latents", latents] if Path(latents).is_file() else []), *self.model_args(exp),
                     *self.model_args(context, "context_"), "--text", f"{self.data_feats}/{dset}/text",
                     "--num_samples", o["spread_samples"], "--temperature", o["context_temperature"],
                     "--num_resamples", o["score_resamples"], "--output_dir", spread_dir],
                )
                append(f"{spread_dir}/spread.md")

            if int(o["controls_utts"]) > 0:
                for system in (BASELINE, *SYSTEMS):
                    exp = r.stage_one_exp(system)
                    if exp is None:
                        continue
                    args = self.model_args(exp)
                    if system != BASELINE:
                        context = r.context_exp_of(system)
                        if context is None:
                            continue  # speaks from text only with its stage two
                        args += self.model_args(context, "context_")
                    controls = f"{out}/controls_{system}"
                    log.info(f"Stage 12: Prosody controls of {system}: {controls}/controls.md")
                    self.launch(
                        f"{controls}.log", "measure_controls",
                        [*args, *self.vocoder_args(), "--text", f"{self.data_feats}/{dset}/text",
                         "--max_utterances", o["controls_utts"], "--max_words", o["controls_words"],
                         "--num_resamples", o["score_resamples"], "--output_dir", controls],
                    )
                    append(f"{controls}/controls.md")

            self.plot(dset, out, ref, baseline_exp)
            plots = Path(out, "plots")
            with open(results, "a") as f:
                f.write(
                    f"\nPlots: {os.path.abspath(plots)} ({len(list(plots.rglob('*.png')))} PNG files);\n"
                    f"tables as CSV: {out}/scores.csv, per utterance and per word: utterances.csv, words.csv.\n"
                )
        return str(results)

    def plot(self, dset: str, out: str, ref: List[str], baseline_exp: str) -> None:
        """F0 contours of stage two's decodes beside the baseline's, the latent space, training curves."""
        r = self.recipe
        args = [
            "--output_dir", f"{out}/plots", *ref, "--num_f0_utts", self.options["score_f0_plots"],
            "--system", f"{BASELINE}={baseline_exp}/{r.inference_tag}/{dset}/{DEFAULT}",
        ]
        latent_exp = None
        for system, exp in r.prosody_exps():
            if Path(f"{exp}/{r.inference_tag}/{dset}/{PREDICTED}/wav.scp").is_file():
                args += ["--system", f"{system}={exp}/{r.inference_tag}/{dset}/{PREDICTED}"]
            if latent_exp is None and not systems.system_class(system).per_word:
                latent_exp = exp
        if latent_exp is not None:
            for data_set in (self.train_set, self.valid_set, *self.test_sets):
                scp = f"{self.targets_dir}/{os.path.basename(latent_exp)}/{data_set}/target.scp"
                if Path(scp).is_file():
                    args += ["--latents", scp, "--latent_text", f"{self.data_feats}/{data_set}/text"]
        names = [exp_name(c, "tts", r.tag_suffix) for c in r.train_configs]
        names += [exp_name(c, "context", r.tag_suffix) for c in r.context_configs]
        for name in names:  # training curves of every experiment that still has its trainer checkpoint
            if Path(f"{r.expdir}/{name}/checkpoint.pth").is_file():
                args += ["--exp", f"{r.expdir}/{name}"]
        log.info(f"Stage 12: Plots: {out}/plots")
        self.launch(f"{out}/plots.log", "plot_prosody", args)

    def listening(self) -> None:
        """Stage 13: a samples page and a MUSHRA test of each test set."""
        r, o = self.recipe, self.options
        baseline_exp = r.require_stage_one_exp(
            BASELINE, "listening needs a FastSpeech2 baseline among --train_configs"
        )
        renditions = r.one_to_many()
        recipe_name = Path.cwd().parent.name
        utt_args = ["--utts", *o["listening_utts"].split()] if o["listening_utts"].split() else []
        for dset in self.test_sets:
            decoded = self.decoded(dset)
            if not decoded:
                raise RecipeError(f"nothing decoded for {dset}: run stages 7 (and 11) first")
            system_args = [a for name, d in decoded for a in ("--system", f"{name}={d}")]
            samples = f"{r.expdir}/samples_{r.inference_tag}{r.tag_suffix}/{dset}"
            args = [
                "--data_dir", f"{self.data_feats}/{dset}", "--num_utts", o["samples_num_utts"], *utt_args,
                "--title", f"Samples: {recipe_name}, {dset}{r.tag_suffix}, {r.inference_tag}",
                *self.model_args(baseline_exp), "--durations", f"{self.durations_dir}/{dset}/durations",
                *system_args,
            ]
            scores = f"{r.expdir}/scores_{r.inference_tag}{r.tag_suffix}/{dset}"
            if Path(scores, "utterances.csv").is_file():
                args += ["--scores_dir", scores]
            if Path(self.context_dir, dset, "words").is_file():
                args += ["--words", f"{self.context_dir}/{dset}/words"]
            if renditions is not None and int(o["samples_renditions"]) > 0:
                _, exp, context = renditions
                args += [*self.model_args(exp, "renditions_"), *self.model_args(context, "renditions_context_")]
                args += ["--num_renditions", o["samples_renditions"], "--temperature", o["context_temperature"]]
                if o["duration_calibration"]:
                    args += ["--renditions_speed_calibration_file", f"{exp}/{r.inference_tag}/speed_calibration.yaml"]
                args += self.vocoder_args()
            Path(samples).parent.mkdir(parents=True, exist_ok=True)
            log.info(f"Stage 13: Samples page of {dset}: {samples}/index.html (log: {samples}.log)")
            self.launch(f"{samples}.log", "samples_page", [*args, "--output_dir", samples])

            mushra = f"{r.expdir}/mushra_{r.inference_tag}{r.tag_suffix}/{dset}"
            chosen = o["mushra_systems"].split()
            if chosen:
                by_name = dict(decoded)
                for name in chosen:
                    if name not in by_name:
                        raise RecipeError(
                            f"--mushra_systems: {name} is not decoded for {dset} "
                            f"(decoded: {' '.join(n for n, _ in decoded)})"
                        )
                system_args = [a for name in chosen for a in ("--system", f"{name}={by_name[name]}")]
            allowed = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
            test_id = bytes(b if b in allowed else ord("_") for b in f"{recipe_name}_{dset}{r.tag_suffix}".encode())
            test_id = test_id.decode()
            Path(mushra).mkdir(parents=True, exist_ok=True)
            log.info(
                f"Stage 13: MUSHRA test {test_id}: {mushra}/index.html, webMUSHRA: {mushra}/webmushra (log: {mushra}.log)"
            )
            self.launch(
                f"{mushra}.log", "mushra_test",
                ["--data_dir", f"{self.data_feats}/{dset}", *system_args, *utt_args, "--baseline", BASELINE,
                 "--test_id", test_id, "--num_trials", o["mushra_num_trials"], "--seed", o["mushra_seed"],
                 "--output_dir", mushra],
            )

    def run_here(self, module: str, args: Sequence[str]) -> None:
        """``python -m prosody_plugin.bin.<module> args`` in the foreground (light steps)."""
        argv = [sys.executable, "-m", f"prosody_plugin.bin.{module}", *map(str, args)]
        if subprocess.run(argv).returncode != 0:
            raise RecipeError(f"prosody_plugin.bin.{module} failed")

    def pack(self) -> None:
        """Stage 15: one archive per system, both stages and its calibrated speed (stage 7)."""
        r = self.recipe
        for pair in r.stage_two_pairs():
            tts_exp, context_exp = pair["tts_exp"], pair["context_exp"]
            packed = f"{r.expdir}/packed/{os.path.basename(tts_exp)}.zip"
            args = []
            if self.options["duration_calibration"]:
                args += ["--speed_calibration", f"{tts_exp}/{r.inference_tag}/speed_calibration.yaml"]
            log.info(f"Stage 15: Packing {tts_exp} and {context_exp} -> {packed}")
            self.run_here(
                "pack",
                [*args, "--tts_exp", tts_exp, "--context_exp", context_exp,
                 "--inference_model", self.inference_model, "--outpath", packed],
            )

    def model_repos(self) -> None:
        """Stage 16: the Hugging Face model repo of each archive, with stage 12-14's results; uploaded."""
        r, o = self.recipe, self.options
        corpus = o["corpus_name"] or Path.cwd().parent.name
        for pair in r.stage_two_pairs():
            name = os.path.basename(pair["tts_exp"])
            packed = f"{r.expdir}/packed/{name}.zip"
            if not Path(packed).is_file():
                raise RecipeError(f"{packed} is missing: run stage 15 first")
            args = ["--corpus", corpus] + (["--license", o["corpus_license"]] if o["corpus_license"] else [])
            for option, path in [("--scores", f"{r.expdir}/RESULTS{r.tag_suffix}.md"),
                                 ("--listening_scores", f"{r.expdir}/MUSHRA{r.tag_suffix}.md")]:
                if Path(path).is_file():
                    args += [option, path]  # stage 12's tables, stage 14's
            samples = f"{r.expdir}/samples_{r.inference_tag}{r.tag_suffix}/{self.test_sets[0]}"
            if Path(samples, "index.html").is_file():
                args += ["--samples", samples]  # stage 13's page, copied into the repo
            prefix = o["hf_repo_prefix"]
            if prefix:
                args += ["--hf_repo", f"{prefix}_{pair['system']}"]
                log.info(f"Stage 16: Model repo {r.expdir}/hf_{name}, uploading to {prefix}_{pair['system']}")
            else:
                log.info(f"Stage 16: Model repo {r.expdir}/hf_{name} (not uploaded: no --hf_repo_prefix)")
            self.run_here("upload", ["--packed", packed, "--outdir", f"{r.expdir}/hf_{name}", *args])

    def mushra_scores(self) -> Optional[str]:
        """Stage 14: MUSHRA scores of the tests that have listener results; MUSHRA<suffix>.md."""
        r, o = self.recipe, self.options
        scored = []
        for dset in self.test_sets:
            mushra = f"{r.expdir}/mushra_{r.inference_tag}{r.tag_suffix}/{dset}"
            if not Path(mushra, "design.json").is_file():
                raise RecipeError(f"{mushra}/design.json is missing: run stage 13 first")
            results = f"{mushra}/results"
            if o["mushra_results_dir"]:
                results = o["mushra_results_dir"]
                if Path(results, dset).is_dir():
                    results = f"{results}/{dset}"
            if not (Path(results).is_dir() and any(Path(results).rglob("*.csv"))):
                log.info(
                    f"Stage 14: no listener results (*.csv) in {results} yet: nothing to score for {dset} "
                    f"(run {mushra}/index.html or the webMUSHRA configuration with listeners; docs/listening_tests.md)"
                )
                continue
            log.info(f"Stage 14: Scoring the MUSHRA test of {dset} from {results}: {mushra}/scores/mushra.md")
            self.launch(
                f"{mushra}/scores.log", "score_mushra",
                ["--design", f"{mushra}/design.json", "--results", results, "--num_resamples", o["score_resamples"],
                 "--output_dir", f"{mushra}/scores"],
            )
            scored.append(f"{mushra}/scores/mushra.md")
        if not scored:
            return None
        report = Path(f"{r.expdir}/MUSHRA{r.tag_suffix}.md")
        parts = [f"# Listening tests: {Path.cwd().parent.name}\n"]
        parts += ["\n" + demote_headings(Path(md).read_text()) for md in scored]
        report.write_text("".join(parts))
        return str(report)


def summary(expdir: str, tag_suffix: str) -> None:
    """Where a run's results are: decoded wavs, RESULTS.md, stage 13's pages, MUSHRA.md (absolute paths)."""
    # prosody: default (baseline, Kathaka's prior mean), reference (oracle), predicted (text only)
    wav_dirs = sorted(d for d in Path(expdir).glob("tts_*/*/*/*/wav") if d.is_dir())
    if wav_dirs:
        log.info("Decoded wavs (experiment, set, prosody: directory):")
        for d in wav_dirs:
            parts = d.relative_to(expdir).parts
            print(f"    {parts[0]:<28} {parts[2]:<6} {parts[3]:<10} {os.path.abspath(d)}", flush=True)
    results = Path(expdir, f"RESULTS{tag_suffix}.md")
    if results.is_file():
        log.info(f"Scores against the baseline (stage 12): {os.path.abspath(results)}")
    # stage 13's pages: open them in a browser (self-contained folders, nothing loaded from the network)
    for page in sorted(Path(expdir).glob("samples_*/*/index.html")):
        log.info(f"Samples page (stage 13): {os.path.abspath(page)}")
    for page in sorted(Path(expdir).glob("mushra_*/*/index.html")):
        folder = os.path.abspath(page.parent)
        log.info(
            f"MUSHRA test (stage 13): {folder}/index.html (webMUSHRA: {folder}/webmushra; "
            f"results go to {folder}/results, scored by stage 14)"
        )
    mushra = Path(expdir, f"MUSHRA{tag_suffix}.md")
    if mushra.is_file():
        log.info(f"MUSHRA scores (stage 14): {os.path.abspath(mushra)}")
