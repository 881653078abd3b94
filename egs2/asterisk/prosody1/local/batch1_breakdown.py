#!/usr/bin/env python3
"""Where the time of a batch-1 text-to-mel call goes (docs/RESULTS.md, "Speed").

Times, with ``torch.utils.benchmark``, the eval prompts one call each: ESPnet's
``Text2Speech`` on the baseline, ``Text2SpeechProsody`` on the baseline, Kathaka and CAMP,
and each piece of the prosody systems' path alone (the word front end, BERT, spaCy, stage
two, the acoustic model). Run from the recipe dir after stage 10 (e.g. after ``make demo``)::

    python local/batch1_breakdown.py --num_prompts 16
"""

import argparse

import torch
import torch.utils.benchmark as benchmark
from espnet2.bin.tts_inference import Text2Speech
from torch.nn.utils.rnn import pad_sequence

from prosody_plugin.inference import Text2SpeechProsody

PREDICTORS = dict(kathaka="kathaka_sampler", camp="camp_predictor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expdir", default="exp")
    parser.add_argument("--text", default="dump/raw/eval/text", help="Kaldi text: the prompts")
    parser.add_argument("--num_prompts", type=int, default=16)
    parser.add_argument("--suffix", default="", help="Of the exp dirs, e.g. _ep40")
    parser.add_argument("--min_run_time", type=float, default=2.0, help="Seconds per measurement")
    args = parser.parse_args()
    with open(args.text, encoding="utf-8") as f:
        prompts = [line.split(maxsplit=1)[1].strip() for line in f][: args.num_prompts]
    stage_one = {name: f"{args.expdir}/tts_train_{name}_cpu{args.suffix}" for name in ("fastspeech2", *PREDICTORS)}

    def measure(what: str, system: str, fn) -> None:
        timer = benchmark.Timer("fn()", globals=dict(fn=fn), num_threads=torch.get_num_threads())
        median_ms = timer.blocked_autorange(min_run_time=args.min_run_time).median * 1e3 / len(prompts)
        print(f"| {what} | {system} | {median_ms:.2f} |", flush=True)

    print(f"ms per prompt, median, {len(prompts)} prompts of {args.text}, {torch.get_num_threads()} threads\n")
    print("| call | system | ms per prompt |\n| --- | --- | --- |")
    baseline = stage_one["fastspeech2"]
    espnet = Text2Speech(train_config=f"{baseline}/config.yaml", model_file=f"{baseline}/valid.loss.ave.pth")
    espnet.vocoder = None  # text to mel, as the benchmark
    measure("ESPnet Text2Speech", "baseline", lambda: [espnet(p) for p in prompts])
    ours = Text2SpeechProsody(f"{baseline}/config.yaml", f"{baseline}/valid.loss.ave.pth", use_vocoder=False)
    measure("Text2SpeechProsody", "baseline", lambda: [ours(p) for p in prompts])
    for system, predictor in PREDICTORS.items():
        context = f"{args.expdir}/context_train_{predictor}_cpu{args.suffix}"
        tts = Text2SpeechProsody(
            f"{stage_one[system]}/config.yaml",
            f"{stage_one[system]}/valid.loss.ave.pth",
            f"{context}/config.yaml",
            f"{context}/valid.loss.ave.pth",
            use_vocoder=False,
        )
        featurizer = tts.featurizer
        sentences = [tts._analyse(p, 0, True)[0] for p in prompts]  # each prompt's analysed sentences
        features = [featurizer(s) for s in sentences]
        prosody = [tts.predict_prosody(s, 0.0) for s in sentences]

        def bert(s):
            return featurizer.embedder.embed([featurizer.bert_words(u) for u in s])

        def spacy(s):
            return featurizer.syntax.analyze_batch(
                [u.words for u in s], [u.word_punctuation for u in s], [u.leading_punctuation for u in s]
            )

        def stage_two(f):
            return [tts.predictor.predict(b, torch.from_numpy(x), 0.0) for b, x in zip(*f)]

        def acoustic(s, p):
            tokens = [torch.from_numpy(u.token_ids) for u in s]
            lengths = torch.tensor([len(t) for t in tokens])
            return tts.model.batch_inference(pad_sequence(tokens, batch_first=True), lengths, p)

        measure("Text2SpeechProsody", system, lambda: [tts(p, temperature=0.0) for p in prompts])
        measure("  word front end", system, lambda: [tts._analyse(p, 0, True) for p in prompts])
        measure("  BERT", system, lambda: [bert(s) for s in sentences])
        measure("  spaCy", system, lambda: [spacy(s) for s in sentences])
        measure("  stage two", system, lambda: [stage_two(f) for f in features])
        measure("  acoustic model", system, lambda: [acoustic(s, p) for s, p in zip(sentences, prosody)])

if __name__ == "__main__":
    with torch.inference_mode():
        main()
