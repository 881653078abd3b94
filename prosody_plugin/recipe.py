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
                purpose
                or f"no trained {system} system among --train_configs ({' '.join(self.train_configs)})"
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


def flags(*pairs: Tuple[str, Any], **options: Any) -> List[str]:
    """``--name value`` arguments, in order, of the pairs and the keyword options (None: left out)."""
    items = [*pairs, *options.items()]
    return [str(a) for name, value in items if value is not None for a in (f"--{name}", value)]


class Stages:
    """Stages 12-16 of a recipe run: its experiments and prosody.sh's dirs and options (``args``)."""

    def __init__(self, recipe: Recipe, args: Any):
        self.r, self.a = recipe, args
        self.test_sets, self.extra_baselines = args.test_sets.split(), args.extra_baselines.split()

    def launch(self, log_file: str, module: str, args: Sequence[str]) -> None:
        """``python -m prosody_plugin.bin.<module> args`` through the job launcher into ``log_file``."""
        argv = [sys.executable, "-m", f"prosody_plugin.bin.{module}", *args]
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        if self.a.cmd:
            proc = subprocess.run([*shlex.split(self.a.cmd), log_file, *argv], stdout=subprocess.DEVNULL)
        else:
            with open(log_file, "w") as f:
                proc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            tail = (
                Path(log_file).read_text(errors="replace").splitlines()[-20:]
                if Path(log_file).exists()
                else []
            )
            raise RecipeError("\n".join([f"see {log_file}", *tail]))

    def run_here(self, module: str, args: Sequence[str]) -> None:
        """``python -m prosody_plugin.bin.<module> args`` in the foreground (light steps)."""
        if subprocess.run([sys.executable, "-m", f"prosody_plugin.bin.{module}", *args]).returncode != 0:
            raise RecipeError(f"prosody_plugin.bin.{module} failed")

    def vocoder(self) -> List[str]:
        return flags(vocoder_file=self.a.vocoder_file or None, vocoder_config=self.a.vocoder_config or None)

    def model(self, exp: str, prefix: str = "") -> List[str]:
        return flags(
            (f"{prefix}train_config", f"{exp}/config.yaml"),
            (f"{prefix}model_file", f"{exp}/{self.a.inference_model}"),
        )

    def systems_args(self, decoded: Iterable[Tuple[str, str]]) -> List[str]:
        return flags(*[("system", f"{name}={d}") for name, d in decoded])

    def dir(self, kind: str, dset: str) -> str:
        """A stage's output dir of a test set: ``<expdir>/<kind>_<decode tag><suffix>/<set>``."""
        return f"{self.r.expdir}/{kind}_{self.r.inference_tag}{self.r.tag_suffix}/{dset}"

    def score(self) -> str:
        """Stage 12: every decoded system scored against the recordings; RESULTS<suffix>.md."""
        r, a = self.r, self.a
        baseline_exp = r.require_stage_one_exp(
            BASELINE, "scoring needs a FastSpeech2 baseline among --train_configs"
        )
        spread = r.one_to_many()
        results = Path(f"{r.expdir}/RESULTS{r.tag_suffix}.md")
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        cwd = Path.cwd()
        results.write_text(
            f"# Results: {cwd.parent.name}/{cwd.name}\n\n"
            f"Written by stage 12 of prosody.sh on {date}; decoding: {r.inference_tag}.\n"
        )

        def append(text: str) -> None:
            with open(results, "a") as f:
                f.write(text)

        for dset in self.test_sets:
            out = self.dir("scores", dset)
            Path(out).mkdir(parents=True, exist_ok=True)
            ref = flags(
                data_dir=f"{a.data_feats}/{dset}",
                durations=f"{a.durations_dir}/{dset}/durations",
                words=f"{a.context_dir}/{dset}/words",
            ) + self.model(baseline_exp)
            log.info(f"Stage 12: Scoring {dset}: {out}/scores.md (log: {out}/score.log)")
            oracles = r.oracle_args([name for name, _ in r.recipe_decodes(dset)])
            args = ref + self.systems_args(r.decoded_systems(dset, self.extra_baselines)) + oracles
            args += flags(baseline=BASELINE, num_resamples=a.score_resamples, output_dir=out) + self.vocoder()
            self.launch(f"{out}/score.log", "score_prosody", args)
            append("\n" + demote_headings(Path(out, "scores.md").read_text()))

            if spread is not None and int(a.spread_samples) > 1:
                system, exp, context = spread
                spread_dir = f"{out}/spread_{system}"
                title = systems.system_class(system).title
                log.info(
                    f"Stage 12: {title} one-to-many spread over {a.spread_samples} samples: "
                    f"{spread_dir}/spread.md"
                )
                latents = f"{a.targets_dir}/{os.path.basename(exp)}/{a.train_set}/target.scp"
                args = flags(
                    latents=latents if Path(latents).is_file() else None
                )  # stage 9's representations
                args += self.model(exp) + self.model(context, "context_")
                args += flags(text=f"{a.data_feats}/{dset}/text", num_samples=a.spread_samples)
                args += flags(
                    temperature=a.context_temperature, num_resamples=a.score_resamples, output_dir=spread_dir
                )
                self.launch(f"{out}/spread.log", "prosody_spread", args)
                append("\n" + demote_headings(Path(spread_dir, "spread.md").read_text()))

            for system in (BASELINE, *SYSTEMS) if int(a.controls_utts) > 0 else ():
                exp, context = (
                    r.stage_one_exp(system),
                    r.context_exp_of(system) if system != BASELINE else None,
                )
                if exp is None or (system != BASELINE and context is None):
                    continue  # a prosody system speaks from text only with its stage two
                controls = f"{out}/controls_{system}"
                log.info(f"Stage 12: Prosody controls of {system}: {controls}/controls.md")
                args = self.model(exp) + (self.model(context, "context_") if context else []) + self.vocoder()
                args += flags(text=f"{a.data_feats}/{dset}/text", max_utterances=a.controls_utts)
                args += flags(
                    max_words=a.controls_words, num_resamples=a.score_resamples, output_dir=controls
                )
                self.launch(f"{controls}.log", "measure_controls", args)
                append("\n" + demote_headings(Path(controls, "controls.md").read_text()))

            self.plot(dset, out, ref, baseline_exp)
            plots = Path(out, "plots")
            append(
                f"\nPlots: {os.path.abspath(plots)} ({len(list(plots.rglob('*.png')))} PNG files);\n"
                f"tables as CSV: {out}/scores.csv, per utterance and per word: utterances.csv, words.csv.\n"
            )
        return str(results)

    def plot(self, dset: str, out: str, ref: List[str], baseline_exp: str) -> None:
        """F0 contours of stage two's decodes beside the baseline's, the latent space, training curves."""
        r, a = self.r, self.a
        args = flags(output_dir=f"{out}/plots") + ref + flags(num_f0_utts=a.score_f0_plots)
        args += flags(system=f"{BASELINE}={baseline_exp}/{r.inference_tag}/{dset}/{DEFAULT}")
        latent_exp = None  # the first sentence-level system: one representation per utterance
        for system, exp in r.prosody_exps():
            if Path(f"{exp}/{r.inference_tag}/{dset}/{PREDICTED}/wav.scp").is_file():
                args += flags(system=f"{system}={exp}/{r.inference_tag}/{dset}/{PREDICTED}")
            if latent_exp is None and not systems.system_class(system).per_word:
                latent_exp = exp
        for data_set in (a.train_set, a.valid_set, *self.test_sets) if latent_exp else ():
            scp = f"{a.targets_dir}/{os.path.basename(latent_exp)}/{data_set}/target.scp"
            if Path(scp).is_file():
                args += flags(latents=scp, latent_text=f"{a.data_feats}/{data_set}/text")
        names = [exp_name(c, "tts", r.tag_suffix) for c in r.train_configs]
        for name in names + [exp_name(c, "context", r.tag_suffix) for c in r.context_configs]:
            if Path(f"{r.expdir}/{name}/checkpoint.pth").is_file():  # training curves
                args += flags(exp=f"{r.expdir}/{name}")
        log.info(f"Stage 12: Plots: {out}/plots")
        self.launch(f"{out}/plots.log", "plot_prosody", args)

    def listening(self) -> None:
        """Stage 13: a samples page and a MUSHRA test of each test set."""
        r, a = self.r, self.a
        baseline_exp = r.require_stage_one_exp(
            BASELINE, "listening needs a FastSpeech2 baseline among --train_configs"
        )
        renditions = r.one_to_many()
        recipe_name = Path.cwd().parent.name
        utts = ["--utts", *a.listening_utts.split()] if a.listening_utts.split() else []
        for dset in self.test_sets:
            decoded = r.decoded_systems(dset, self.extra_baselines)
            if not decoded:
                raise RecipeError(f"nothing decoded for {dset}: run stages 7 (and 11) first")
            samples, scores = self.dir("samples", dset), self.dir("scores", dset)
            args = flags(data_dir=f"{a.data_feats}/{dset}", num_utts=a.samples_num_utts) + utts
            args += flags(title=f"Samples: {recipe_name}, {dset}{r.tag_suffix}, {r.inference_tag}")
            args += self.model(baseline_exp) + flags(durations=f"{a.durations_dir}/{dset}/durations")
            args += self.systems_args(decoded)
            args += flags(scores_dir=scores if Path(scores, "utterances.csv").is_file() else None)
            words = f"{a.context_dir}/{dset}/words"
            args += flags(words=words if Path(words).is_file() else None)
            if renditions is not None and int(a.samples_renditions) > 0:
                _, exp, context = renditions
                args += self.model(exp, "renditions_") + self.model(context, "renditions_context_")
                args += flags(num_renditions=a.samples_renditions, temperature=a.context_temperature)
                if a.duration_calibration:
                    args += flags(
                        renditions_speed_calibration_file=f"{exp}/{r.inference_tag}/speed_calibration.yaml"
                    )
                args += self.vocoder()
            Path(samples).parent.mkdir(parents=True, exist_ok=True)
            log.info(f"Stage 13: Samples page of {dset}: {samples}/index.html (log: {samples}.log)")
            self.launch(f"{samples}.log", "samples_page", args + flags(output_dir=samples))

            mushra, chosen = self.dir("mushra", dset), a.mushra_systems.split()
            by_name = dict(decoded)
            for name in chosen:
                if name not in by_name:
                    known = " ".join(n for n, _ in decoded)
                    raise RecipeError(
                        f"--mushra_systems: {name} is not decoded for {dset} (decoded: {known})"
                    )
            if chosen:
                decoded = [(name, by_name[name]) for name in chosen]
            allowed = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
            test_id = f"{recipe_name}_{dset}{r.tag_suffix}".encode()  # tr -c 'A-Za-z0-9_-' '_', byte by byte
            test_id = bytes(b if b in allowed else ord("_") for b in test_id).decode()
            Path(mushra).mkdir(parents=True, exist_ok=True)
            log.info(
                f"Stage 13: MUSHRA test {test_id}: {mushra}/index.html, webMUSHRA: {mushra}/webmushra "
                f"(log: {mushra}.log)"
            )
            args = flags(data_dir=f"{a.data_feats}/{dset}") + self.systems_args(decoded) + utts
            args += flags(
                baseline=BASELINE, test_id=test_id, num_trials=a.mushra_num_trials, seed=a.mushra_seed
            )
            self.launch(f"{mushra}.log", "mushra_test", args + flags(output_dir=mushra))

    def mushra_scores(self) -> Optional[str]:
        """Stage 14: MUSHRA scores of the tests that have listener results; MUSHRA<suffix>.md."""
        r, a = self.r, self.a
        scored = []
        for dset in self.test_sets:
            mushra = self.dir("mushra", dset)
            if not Path(mushra, "design.json").is_file():
                raise RecipeError(f"{mushra}/design.json is missing: run stage 13 first")
            results = f"{mushra}/results"
            if a.mushra_results_dir:  # <dir>/<set> when it exists, else <dir>
                results = a.mushra_results_dir
                results = f"{results}/{dset}" if Path(results, dset).is_dir() else results
            if not (Path(results).is_dir() and any(Path(results).rglob("*.csv"))):
                log.info(
                    f"Stage 14: no listener results (*.csv) in {results} yet: nothing to score for {dset} "
                    f"(run {mushra}/index.html or the webMUSHRA configuration with listeners; "
                    "docs/listening_tests.md)"
                )
                continue
            log.info(f"Stage 14: Scoring the MUSHRA test of {dset} from {results}: {mushra}/scores/mushra.md")
            args = flags(design=f"{mushra}/design.json", results=results, num_resamples=a.score_resamples)
            self.launch(f"{mushra}/scores.log", "score_mushra", args + flags(output_dir=f"{mushra}/scores"))
            scored.append(f"{mushra}/scores/mushra.md")
        if not scored:
            return None
        report = Path(f"{r.expdir}/MUSHRA{r.tag_suffix}.md")
        parts = [f"# Listening tests: {Path.cwd().parent.name}\n"]
        report.write_text("".join(parts + ["\n" + demote_headings(Path(md).read_text()) for md in scored]))
        return str(report)

    def pack(self) -> None:
        """Stage 15: one archive per system, both stages and its calibrated speed (stage 7)."""
        r, a = self.r, self.a
        for pair in r.stage_two_pairs():
            tts_exp, context_exp = pair["tts_exp"], pair["context_exp"]
            packed = f"{r.expdir}/packed/{os.path.basename(tts_exp)}.zip"
            calibration = (
                f"{tts_exp}/{r.inference_tag}/speed_calibration.yaml" if a.duration_calibration else None
            )
            log.info(f"Stage 15: Packing {tts_exp} and {context_exp} -> {packed}")
            args = flags(speed_calibration=calibration, tts_exp=tts_exp, context_exp=context_exp)
            self.run_here("pack", args + flags(inference_model=a.inference_model, outpath=packed))

    def model_repos(self) -> None:
        """Stage 16: the Hugging Face model repo of each archive, with stages 12-14's results; uploaded."""
        r, a = self.r, self.a
        for pair in r.stage_two_pairs():
            name = os.path.basename(pair["tts_exp"])
            packed = f"{r.expdir}/packed/{name}.zip"
            if not Path(packed).is_file():
                raise RecipeError(f"{packed} is missing: run stage 15 first")
            scores, listening = f"{r.expdir}/RESULTS{r.tag_suffix}.md", f"{r.expdir}/MUSHRA{r.tag_suffix}.md"
            samples = self.dir("samples", self.test_sets[0])  # stage 13's page, copied into the repo
            args = flags(corpus=a.corpus_name or Path.cwd().parent.name, license=a.corpus_license or None)
            args += flags(scores=scores if Path(scores).is_file() else None)
            args += flags(listening_scores=listening if Path(listening).is_file() else None)
            args += flags(samples=samples if Path(samples, "index.html").is_file() else None)
            repo = f"{a.hf_repo_prefix}_{pair['system']}" if a.hf_repo_prefix else None
            if repo:
                log.info(f"Stage 16: Model repo {r.expdir}/hf_{name}, uploading to {repo}")
            else:
                log.info(f"Stage 16: Model repo {r.expdir}/hf_{name} (not uploaded: no --hf_repo_prefix)")
            args += flags(hf_repo=repo)
            self.run_here("upload", flags(packed=packed, outdir=f"{r.expdir}/hf_{name}") + args)


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
