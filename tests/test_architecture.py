"""The package's shape holds: no import cycle, dependencies one way, platforms in their folders.

Read from the source, every `import` counted wherever it stands (inside functions and under
`if TYPE_CHECKING:` too), so a cycle cannot hide behind a late import.
"""

from __future__ import annotations

import re

import pytest

from architecture import SOURCE_ROOT, code_words, cycles, modules
from dncsync import platforms

# From the bottom up: a module imports only modules of its own layer or below. Each entry is a
# module or a package prefix; the first that matches places a module.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "model", "dates", "business_days", "files"),
    ("privacy", "logs", "audit"),
    (
        "phone",
        "policy",
        "columnar",
        "sources",
        "rejects",
        "row_warnings",
        "entryfile",
        "ingest",
        "intake",
        "sms",
    ),
    ("snapshot", "plan", "capacity", "targets.base", "drift"),
    ("state",),
    ("credentials", "net", "targets", "platforms"),
    ("config", "wiring", "storage"),
    ("outcome", "report", "alerts"),
    ("run",),
    ("emulator", "demo", "serve"),
    ("cli", "__main__"),
)

# Where a platform may be named: its own folder, and the emulator and demo that play both.
MAY_NAME_PLATFORMS = ("platforms.", "emulator", "demo", "cli.demo", "cli.emulator")


def _layer(module: str) -> int:
    short = module.removeprefix("dncsync.").removeprefix("dncsync")
    for rank, names in enumerate(LAYERS):
        for name in names:
            if short == name or short.startswith(name + "."):
                return rank
    return -1


def test_no_module_imports_itself_back_through_others() -> None:
    found = cycles(modules())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in modules() if name != "dncsync" and _layer(name) < 0]
    assert unplaced == [], f"modules outside LAYERS (place them): {unplaced}"


def test_dependencies_point_down_the_layers() -> None:
    upward = [
        f"{name} -> {other}"
        for name, module in modules().items()
        if name != "dncsync"
        for other in module.imports
        if other != "dncsync" and _layer(other) > _layer(name)
    ]
    assert upward == [], "imports that point up the layers: " + ", ".join(sorted(upward))


def _platform_words() -> re.Pattern[str]:
    names = {platform.name for platform in platforms.registry().values()}
    # The platforms' hosts name them too (mypurecloud.com, niceincontact.com).
    return re.compile("|".join(sorted(names | {"purecloud", "incontact"})), re.IGNORECASE)


def test_both_platforms_are_registered_by_their_folders() -> None:
    assert set(platforms.names()) == {"genesys", "cxone"}
    for platform in platforms.registry().values():
        assert platform.config_model.model_fields["platform"].annotation is not str
        assert platform.capabilities.capacity > 0


@pytest.mark.parametrize("word_kind", ["name", "string"])
def test_no_code_outside_a_platforms_folder_names_a_platform(word_kind: str) -> None:
    pattern = _platform_words()
    found: list[str] = []
    for name, module in sorted(modules().items()):
        short = name.removeprefix("dncsync.")
        if short.startswith(MAY_NAME_PLATFORMS):
            continue
        for line, kind, text in code_words(module.path):
            if kind == word_kind and pattern.search(text):
                where = module.path.relative_to(SOURCE_ROOT)
                found.append(f"{where}:{line}: {text[:60]}")
    assert found == [], "platform named outside its folder:\n" + "\n".join(found)


def test_the_checks_see_what_they_look_for(tmp_path: object) -> None:
    # The walker must find function-level and TYPE_CHECKING imports, or the tests above
    # would pass on a package full of hidden cycles.
    graph = modules()
    assert "dncsync.audit" in graph["dncsync.logs"].imports  # under TYPE_CHECKING
    words = {text for _, _, text in code_words(graph["dncsync.platforms.cxone.results"].path)}
    assert '"cxone.results_mismatch"' in words
