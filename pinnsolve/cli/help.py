"""``pinnsolve --help`` with each setting's explanation: the trailing ``# comment`` of its line in the
config files, set beside the key in Hydra's dump of the run's configuration.

Comments are read from the option files this command line selects (``optimizer=spring`` → the
``optimizer/spring.yaml`` comments first), then from every other option of the group, then from
``config.yaml``; a file marked ``# @package _global_`` (the problems' and experiments') gives full paths.
"""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w]*):(?P<value>[^#]*?)(?:\s+#\s*(?P<comment>.*))?$")
SECTION = "== This run's configuration"


def file_comments(path: Path, prefix: str) -> dict[str, str]:
    """``{dotted key: comment}`` of the trailing comments of the mapping lines of one YAML file."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("# @package _global_"):
        prefix = ""
    comments, stack = {}, []  # stack of (indent, key)
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        if match["comment"]:
            key = ".".join(([prefix] if prefix else []) + [k for _, k in stack])
            comments.setdefault(key, match["comment"].strip())
    return comments


def config_comments(config_dir: str | Path, choices: dict[str, str]) -> dict[str, str]:
    """Every config file's comments, the chosen options' first."""
    root = Path(config_dir)
    comments: dict[str, str] = {}
    for group, choice in choices.items():
        chosen = root / group / f"{choice}.yaml"
        if chosen.is_file():
            comments.update({k: v for k, v in file_comments(chosen, group).items() if k not in comments})
    for file in sorted(root.glob("*/*.yaml")):
        group = file.parent.name
        if group in ("experiment", "hparams_search"):
            continue
        comments.update({k: v for k, v in file_comments(file, group).items() if k not in comments})
    comments.update({k: v for k, v in file_comments(root / "config.yaml", "").items() if k not in comments})
    return comments


def annotate(help_text: str, comments: dict[str, str]) -> str:
    """Hydra's help with ``# comment`` after each key of the configuration dump that has one."""
    if SECTION not in help_text:
        return help_text
    head, _, dump = help_text.partition(SECTION)
    first, _, body = dump.partition("\n")
    lines, stack = [], []
    for line in body.splitlines():
        match = _LINE.match(line)
        if match is not None:
            indent = len(match["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match["key"]))
            comment = comments.get(".".join(k for _, k in stack))
            if comment:
                line = f"{line.rstrip():<40}  # {comment}"
        lines.append(line)
    return head + SECTION + first + "\n" + "\n".join(lines)


def runtime_choices(config_dir: str | Path, overrides: list[str]) -> dict[str, str]:
    """The option of each config group that ``overrides`` select, experiments included (Hydra's own
    ``runtime.choices``; ``{}`` when they do not compose, and Hydra's help says why)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
        return {k: v for k, v in cfg.hydra.runtime.choices.items() if isinstance(v, str) and "/" not in k}
    except Exception:  # noqa: BLE001 - the help text itself reports a bad command line
        return {}
    finally:
        GlobalHydra.instance().clear()
