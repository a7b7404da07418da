"""Guard the framework idioms: no deprecated or removed Pipecat API anywhere in our code."""

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUR_PACKAGES = [
    "assembly",
    "bots",
    "callhost",
    "calls",
    "config",
    "fleet",
    "launcher",
    "memory",
    "plugins",
    "postcall",
    "providers",
    "runner",
    "storage",
    "tools",
    "transports",
    "turntaking",
    "webhooks",
]
# Names the 1.14 notes list as deprecated, removed, or silently ignored.
FORBIDDEN = re.compile(
    r"\bPipelineTask\b|\bPipelineRunner\b|OpenAILLMContext|\bEndTaskFrame\b|\bCancelTaskFrame\b"
    r"|pipecat\.adapters\.schemas|pipecat\.pipeline\.task\b|allow_interruptions=|TranscriptProcessor"
    r"|UserIdleProcessor|STTMuteFilter|register_direct_function|create_context_aggregator"
    r"|TransportParams\([^)]*vad_analyzer|interruption_strategies|LocalSmartTurnAnalyzerV2"
    r"|Service\.InputParams\(|text_filters=|MarkdownTextFilter"
)


def _our_modules() -> list[str]:
    names = ["server"]
    for package in OUR_PACKAGES:
        if not (ROOT / package / "__init__.py").exists():
            continue
        names.append(package)
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            names.append(info.name)
    return names


# Deprecations Pipecat raises about its own classes, whatever the application does.
PIPECAT_INTERNAL = ("`AudioContextTTSService` is deprecated",)


def test_importing_and_building_everything_raises_no_pipecat_deprecation():
    # Pipecat warns under an "always" filter (once per call site), which no "error" filter can
    # override, so a fresh interpreter records every warning shown while it imports all our
    # modules and builds every persona on every transport kind.
    modules = [m for m in _our_modules() if not m.endswith("__main__")]
    script = f"""
import warnings, importlib, asyncio, json
seen = []
def record(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, (DeprecationWarning, FutureWarning)):
        seen.append(f"{{filename}}:{{lineno}}: {{message}}")
warnings.showwarning = record
for name in {modules!r}:
    importlib.import_module(name)
from tests.assembly.builders import build_every_call
asyncio.run(build_every_call())
print(json.dumps(seen))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-4000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    def ours(warning: str) -> bool:
        filename = warning.split(":", 1)[0]
        in_our_tree = filename.startswith(str(ROOT)) and "/.venv/" not in filename
        pipecat_api = "is deprecated since" in warning
        return in_our_tree or (pipecat_api and not warning.endswith(PIPECAT_INTERNAL))

    offending = [w for w in seen if ours(w) and not any(i in w for i in PIPECAT_INTERNAL)]
    assert offending == [], "\n".join(offending)


def test_source_uses_no_deprecated_or_silently_ignored_names():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests"} or rel.parts[0].startswith("."):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []


def test_every_module_imports():
    for name in _our_modules():
        if name.endswith("__main__"):
            continue
        importlib.import_module(name)
