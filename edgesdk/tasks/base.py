"""The task interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    import numpy as np

    from ..config import PackageConfig
    from ..metadata import ModelMetadata
    from ..models import LoadedModel
    from ..pipeline import PackageResult
    from ..verify.reported import GoldenChecker


@dataclass(frozen=True)
class MetadataInputs:
    """What a task needs to describe a packaged model."""

    name: str
    description: str
    version: str
    author: str
    license: str
    labels: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_min: tuple[float, ...]
    input_max: tuple[float, ...]
    #: names of the converted model's outputs, in its output order, when the task's
    #: conversion decides them (e.g. the four outputs of a detector's post-processing op)
    output_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskChecks:
    """The host (tier 1) checks of ``edgesdk verify`` on a package folder, done by a task
    whose outputs the generic checks do not understand. Each result has ``passed`` and
    ``to_dict()``; a ``*_skipped`` reason stands in for a result that is ``None``."""

    host: Any
    host_skipped: str | None
    golden: Any
    golden_skipped: str | None


@dataclass(frozen=True)
class GoldenJudgement:
    """A task's verdict on the outputs another runtime computed for its golden cases."""

    #: one per case, in golden order; each has ``index``, ``passed`` and ``to_dict()``
    cases: tuple[Any, ...]
    output_dtype: str
    max_lsb_diff: int | None = None  #: integer outputs: the largest raw difference, in steps
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoldenInputs:
    """A package folder's golden cases as input tensors of the app's model, prepared on the
    host exactly as the task's host check prepares them (their SHA-256 checked against the
    stored ones by ``judge``), and the judge of the raw outputs another runtime computes from
    them (tier ``arm64``): ``judge(outputs, names)`` gets every output of the model in the
    interpreter's output order, each ``N x <shape without batch>``, and their tensor names."""

    folder: Path  #: the golden set
    tensors: np.ndarray  #: ``N x <input shape without batch>``, the model's input dtype
    judge: Callable[[Sequence[np.ndarray], Sequence[str]], GoldenJudgement]
    rule: Mapping[str, Any]  #: how a case passes, for the JSON result
    #: the model the golden set was made for (None: the set does not record it)
    model_sha256: str | None = None
    problems: tuple[str, ...] = ()  #: found while reading, before anything ran


class Task:
    """A kind of model (image classifier, ...): matching and metadata."""

    name: ClassVar[str] = ""
    #: whether the task's output is a class score vector that takes labels
    has_labels: ClassVar[bool] = False
    #: whether ``edgesdk verify`` (host parity, golden re-run) understands the task's output
    verifiable: ClassVar[bool] = True
    #: the optional tiers of ``edgesdk verify`` that check this task's package folders
    #: (``arm64``, ``apk``, ``android_host``, ``device``); the others are refused for it
    supported_tiers: ClassVar[frozenset[str]] = frozenset(
        {"arm64", "apk", "android_host", "device"}
    )
    #: the first bytes of the golden file its apps carry (``golden/golden.bin``): how a
    #: generated project without report.json tells its task
    golden_magic: ClassVar[bytes] = b"EDGG"

    def matches(self, loaded: LoadedModel) -> bool:
        raise NotImplementedError

    def num_classes(self, loaded: LoadedModel) -> int | None:
        return None

    def metadata(self, loaded: LoadedModel, info: MetadataInputs) -> ModelMetadata:
        raise NotImplementedError

    def package(
        self,
        config: PackageConfig,
        loaded: LoadedModel,
        warn: Callable[[str], None],
        step: Callable[[str], None],
    ) -> PackageResult | None:
        """The whole packaging flow, for a task whose conversion, evaluation, golden
        vectors and app differ from the one-tensor-in, one-tensor-out flow of
        :mod:`edgesdk.pipeline` (e.g. an object detector: an appended post-processing op,
        four outputs, mAP). ``None`` (the default) runs the pipeline's own flow."""
        return None

    def verify_output(
        self,
        out: Path,
        report: Mapping[str, Any],
        *,
        reference: str | Path | None,
        data: str | Path | None,
        samples: int | None,
        trust_model: bool,
        step: Callable[[str], None],
        warn: Callable[[str], None],
    ) -> TaskChecks | None:
        """Host parity and the golden re-run of ``edgesdk verify`` for a package folder of
        this task, when they differ from the one-output checks of :mod:`edgesdk.verify`
        (e.g. detections matched by IoU). ``None`` (the default) runs the generic checks."""
        return None

    def golden_inputs(self, out: Path, model: bytes) -> GoldenInputs | None:
        """The golden cases of the package folder ``out`` as inputs of ``model`` (the app's)
        with their judge, for a task whose golden set is not the one-output vectors of
        :mod:`edgesdk.verify.golden` (e.g. an object detector's golden detections). ``None``
        (the default) uses those vectors."""
        return None

    def golden_checker(self, golden_dir: Path) -> GoldenChecker:
        """The golden set stored in an app of this task (``golden_dir``) with the rule that
        re-checks on the host the case lines the app's Kotlin runners report (tiers
        android_host and device). The default: the score vectors of a one-output model
        (:class:`edgesdk.verify.reported.ClassifierChecker`)."""
        from ..verify.golden import read_golden
        from ..verify.reported import ClassifierChecker

        return ClassifierChecker(read_golden(golden_dir))
