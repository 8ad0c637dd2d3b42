"""The JavaScript that `miniwob` runs in a MiniWoB++ task page: starting an episode as the official env does,
reading the reward globals, tidying the page between episodes."""

# MiniWoB's own heads-up display (last reward, countdown, episode count) and click canvas are for humans
# watching; hidden, they stay out of the observation.
HIDE_HUD_CSS = "#reward-display, #click-canvas { display: none !important; }"

# the natural-language (-nl-turk) tasks keep their fields next to the sentence; the sentence is the utterance
UTTERANCE_JS = "(() => { const u = core.getUtterance(); return typeof u === 'string' ? u : String(u.utterance); })()"
START_JS = "([seed, mode]) => { core.endEpisode(0); Math.seedrandom(seed); core.setDataMode(mode); " \
            f"core.startEpisodeReal(); return WOB_TASK_READY ? {UTTERANCE_JS} : null; }}"
HIDE_HUD_JS = "css => { const s = document.createElement('style'); s.textContent = css; " \
               "document.head.appendChild(s); return performance.now(); }"
REWARD_JS = "() => ({done: WOB_DONE_GLOBAL, reward: WOB_REWARD_GLOBAL, raw_reward: WOB_RAW_REWARD_GLOBAL, " \
             "reason: WOB_REWARD_REASON === null || WOB_REWARD_REASON === undefined ? null : " \
             "String(WOB_REWARD_REASON), max_time_ms: core.EPISODE_MAX_TIME, now_ms: Date.now(), " \
             "start_ms: core.ept0})"

# Load the images that only :hover rules name (social-media's `.more:hover { content: url(...) }`) before the
# episode: a real mouse that reaches such an element first swaps in an image that has not loaded, the element
# has no size for that moment, and the click lands on what lies beneath; the official env's DOM click does not
# depend on it. The Image objects stay referenced from the page (a symbol-keyed, non-enumerable property of
# window that no page code reads): Blink's memory cache holds an image only while something uses it, so after
# a garbage collection (whenever the page's heap decides) a hover would fetch it again, asynchronously, and the
# click was lost as if nothing had been preloaded (social-media's first 'more' click, forced with CDP's
# HeapProfiler.collectGarbage; the conformance test's rare failure).
PRELOAD_HOVER_JS = """() => {
  const keep = [];
  Object.defineProperty(window, Symbol.for("agentrl.hover-images"), {value: keep, configurable: true});
  return Promise.all([...document.styleSheets]
    .flatMap(s => { try { return [...s.cssRules]; } catch (e) { return []; } })
    .filter(r => r.selectorText && r.selectorText.includes(":hover"))
    .flatMap(r => [r.style.content, r.style.backgroundImage]
      .map(v => /url\\("?([^")]+)"?\\)/.exec(v || "")).filter(Boolean)
      .map(m => new Promise(done => {
        const img = new Image(); img.onload = img.onerror = done; keep.push(img);
        img.src = new URL(m[1], r.parentStyleSheet.href || location.href).href;
      }))));
}"""

# Undo what an episode can leave on the page outside the task's own problem: focus, selection, scroll.
TIDY_JS = "() => { if (document.activeElement && document.activeElement.blur) document.activeElement.blur(); " \
           "const s = window.getSelection && window.getSelection(); if (s) s.removeAllRanges(); window.scrollTo(0, 0); }"
