"""Decoding of data dirs with prosody inputs: ESPnet's Text2Speech and inference loop, extended.

:class:`Text2Speech` passes prosody to the models, :func:`decode` is the loop of
``prosody_plugin.bin.tts_inference`` (stages 7 and 11) and :func:`speed_calibration` stage 7's
duration calibration. Options and outputs: docs/recipes.md (Stage 7: decoding).
"""

import logging
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import espnet2.bin.tts_inference as espnet_tts_inference
import numpy as np
import soundfile as sf
import torch
from espnet2.fileio.npy_scp import NpyScpWriter
from espnet2.torch_utils.device_funcs import to_device
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed

import prosody_plugin  # noqa: F401  (registers the plugin's TTS classes)
from prosody_plugin.tasks.tts import ProsodyTTSTask
from prosody_plugin.tts.batch_inference import regulated_durations
from prosody_plugin.tts.espnet_model import ProsodyESPnetTTSModel
from prosody_plugin.vocoder_compat import download_vocoder, enable_parallel_wavegan, reproducible_vocoder


class Text2Speech(espnet_tts_inference.Text2Speech):
    """ESPnet's Text2Speech that can condition the prosody models.

    Args:
        use_reference_prosody (bool): Pass ``speech`` (and ``durations``) as the prosody
            reference of Kathaka / CAMP instead of using them for teacher forcing.
        synthesize_wav (bool): False: no vocoder, the features and durations only.
        **kwargs: ESPnet's Text2Speech arguments.
    """

    def __init__(self, *args, use_reference_prosody: bool = False, synthesize_wav: bool = True, **kwargs):
        enable_parallel_wavegan()  # for --vocoder_file *.pkl
        super().__init__(*args, **kwargs)
        self.use_reference_prosody = use_reference_prosody
        if not isinstance(self.model, ProsodyESPnetTTSModel):
            self.model = ProsodyESPnetTTSModel.from_espnet_model(self.model)
        # ESPnet's task built the model: derive the word boundaries as ProsodyTTSTask does, so
        # that the loaded model's training losses work too (e.g. the duration sum losses)
        if hasattr(self.model.tts, "set_token_list"):
            self.model.tts.set_token_list(self.train_args.token_list)
        # --seed / always_fix_seed reproduce wavs; no vocoder: features and durations only
        self.vocoder = reproducible_vocoder(self.vocoder) if synthesize_wav else None

    @classmethod
    def from_pretrained(
        cls, model_tag: Optional[str] = None, vocoder_tag: Optional[str] = None, **kwargs
    ) -> "Text2Speech":
        """Build from an ``espnet_model_zoo`` tag, repo or packed ``.zip``, as ESPnet's ``Text2Speech.from_pretrained``."""
        if model_tag is not None:
            from espnet_model_zoo.downloader import ModelDownloader

            kwargs.update(ModelDownloader().download_and_unpack(model_tag))
        if vocoder_tag is not None:
            kwargs.update(download_vocoder(vocoder_tag))
        return cls(**kwargs)

    @property
    def use_speech(self) -> bool:
        """Return whether the data's speech is needed (teacher forcing or reference)."""
        return self.use_teacher_forcing or self.use_reference_prosody

    def __call__(
        self,
        text: Union[str, torch.Tensor, np.ndarray],
        prosody: Union[torch.Tensor, np.ndarray, None] = None,
        decode_conf: Optional[Dict[str, Any]] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Run text-to-speech; ``prosody`` is an explicit prosody representation."""
        if prosody is not None:
            prosody = to_device(torch.as_tensor(prosody, dtype=torch.float32), self.device)
            decode_conf = dict(decode_conf or {}, prosody=prosody)
        return super().__call__(text, decode_conf=decode_conf, **kwargs)


def decode(
    output_dir: Union[Path, str],
    data_path_and_name_and_type: Sequence[Tuple[str, str, str]],
    train_config: Optional[str] = None,
    model_file: Optional[str] = None,
    model_tag: Optional[str] = None,
    vocoder_tag: Optional[str] = None,
    key_file: Optional[str] = None,
    ngpu: int = 0,
    seed: int = 0,
    dtype: str = "float32",
    num_workers: int = 1,
    allow_variable_data_keys: bool = False,
    use_reference_prosody: bool = False,
    synthesize_wav: bool = True,
    **text2speech_kwargs,
) -> None:
    """Decode a data dir as ``espnet2.bin.tts_inference.inference`` does, with prosody inputs.

    Writes ESPnet's outputs plus the predicted, denormalised token-level ``pitch/pitch`` and
    ``energy/energy`` (T_text + 1 values per line) for the word-level scoring; ``durations``
    are the frames after ``speed_control_alpha``.

    Args:
        output_dir: Where the outputs go.
        data_path_and_name_and_type: ESPnet's data triplets (``text``, and ``speech`` /
            ``durations`` for the reference prosody, or ``prosody``).
        train_config, model_file: The stage-one model.
        model_tag, vocoder_tag: Instead, a packed model or model-zoo tag and a
            ``parallel_wavegan/<tag>`` vocoder.
        key_file: Decode these keys only.
        ngpu: 0 (CPU) or 1.
        seed, dtype, num_workers, allow_variable_data_keys: As in ESPnet.
        use_reference_prosody: Condition on each utterance's own recording (the oracle).
        synthesize_wav: False: no vocoder, no ``wav/``.
        **text2speech_kwargs: The other arguments of ESPnet's Text2Speech.
    """
    if ngpu > 1:
        raise NotImplementedError("only single GPU decoding is supported")
    set_all_random_seed(seed)
    text2speech = Text2Speech.from_pretrained(
        model_tag=model_tag,
        vocoder_tag=vocoder_tag,
        train_config=train_config,
        model_file=model_file,
        device="cuda" if ngpu >= 1 else "cpu",
        dtype=dtype,
        seed=seed,
        use_reference_prosody=use_reference_prosody,
        synthesize_wav=synthesize_wav,
        **text2speech_kwargs,
    )
    if not text2speech.use_speech:
        data_path_and_name_and_type = [x for x in data_path_and_name_and_type if x[1] != "speech"]
    loader = ProsodyTTSTask.build_streaming_iterator(
        data_path_and_name_and_type,
        dtype=dtype,
        batch_size=1,
        key_file=key_file,
        num_workers=num_workers,
        preprocess_fn=ProsodyTTSTask.build_preprocess_fn(text2speech.train_args, False),
        collate_fn=ProsodyTTSTask.build_collate_fn(text2speech.train_args, False),
        allow_variable_data_keys=allow_variable_data_keys,
        inference=True,
    )
    # FastSpeech2 ignores alpha under teacher forcing
    alpha = 1.0 if text2speech.use_teacher_forcing else text2speech.decode_conf.get("alpha", 1.0)
    output_dir = Path(output_dir)
    for sub in ("norm", "denorm", "speech_shape", "durations", "pitch", "energy") + ("wav",) * synthesize_wav:
        (output_dir / sub).mkdir(parents=True, exist_ok=True)
    with (
        NpyScpWriter(output_dir / "norm", output_dir / "norm/feats.scp") as norm_writer,
        NpyScpWriter(output_dir / "denorm", output_dir / "denorm/feats.scp") as denorm_writer,
        ExitStack() as stack,
    ):
        files = {
            name: stack.enter_context(open(output_dir / name / name, "w"))
            for name in ("speech_shape", "durations", "pitch", "energy")
        }
        for keys, batch in loader:
            key = keys[0]
            batch = {k: v[0] for k, v in batch.items() if not k.endswith("_lengths")}
            start = time.perf_counter()
            out = text2speech(**batch)
            feat_gen = out["feat_gen"]
            logging.info(
                f"{key}: {feat_gen.size(0)} frames, {feat_gen.size(0) / (time.perf_counter() - start):.1f} frames/s"
            )
            norm_writer[key] = feat_gen.cpu().numpy()
            files["speech_shape"].write(f"{key} " + ",".join(map(str, feat_gen.shape)) + "\n")
            if out.get("feat_gen_denorm") is not None:
                denorm_writer[key] = out["feat_gen_denorm"].cpu().numpy()
            if out.get("duration") is not None:
                duration = out["duration"].long()
                durations = regulated_durations(duration[None].clone(), torch.tensor([len(duration)]), alpha)[
                    0
                ]
                files["durations"].write(f"{key} " + " ".join(map(str, durations.cpu().tolist())) + "\n")
            for name in ("pitch", "energy"):
                if out.get(f"{name}_denorm") is not None:
                    values = out[f"{name}_denorm"].detach().cpu().numpy()
                    files[name].write(f"{key} " + " ".join(f"{v:.5f}" for v in values) + "\n")
            if out.get("wav") is not None:
                sf.write(
                    output_dir / "wav" / f"{key}.wav", out["wav"].cpu().numpy(), text2speech.fs, "PCM_16"
                )
    for name in ("pitch", "energy"):  # models without that extractor write none
        if (output_dir / name / name).stat().st_size == 0:
            (output_dir / name / name).unlink()
            (output_dir / name).rmdir()


def speed_calibration(
    decoded: Mapping[str, Sequence[int]], recorded: Mapping[str, Sequence[int]], alpha: float = 1.0
) -> float:
    """The ``speed_control_alpha`` at which a model's decodes last as long as the recordings.

    ESPnet's duration predictor regresses log durations, so its frames are a geometric mean
    and too short; one factor from a dev set corrects that for every system alike.

    Args:
        decoded: Per utterance, the token frames decoded at ``alpha``.
        recorded: Per utterance, the recordings' token frames.
        alpha: The ``speed_control_alpha`` of the decodes.

    Returns:
        ``alpha * total recorded frames / total decoded frames``.
    """
    missing = sorted(set(decoded) - set(recorded))
    if missing:
        raise ValueError(f"no recorded durations for {len(missing)} decoded utterances, e.g. {missing[0]}")
    if not decoded:
        raise ValueError("no decoded durations to calibrate on")
    decoded_frames = sum(int(np.sum(decoded[k])) for k in decoded)
    recorded_frames = sum(int(np.sum(recorded[k])) for k in decoded)
    if decoded_frames == 0:
        raise ValueError(
            f"the {len(decoded)} decoded utterances have no frames: cannot calibrate their speed"
        )
    return alpha * recorded_frames / decoded_frames
