"""Great Expectations: suites from `expectations/`, checkpoints, row-level quarantine, Data Docs.

The suites are the single source of the row rules. Each expectation that quarantines rows names
its reason in `meta.quarantine_reason`; the order of expectations in the JSON file is the order of
precedence (a row gets the first reason that applies). Great Expectations is imported lazily: it
costs seconds, and a run with nothing new should not pay for it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
DATASETS = ("streams", "songs", "users")
_DATASOURCE = "music_etl_frames"
_COMPILED_ONCE_VIEW = {
    "module_name": "music_etl.quality.gx_views",
    "class_name": "CompiledOnceJinjaPageView",
}
_SITE = "music_etl"


@cache
def suite_definition(dataset: str) -> dict[str, Any]:
    with (EXPECTATIONS_DIR / f"{dataset}.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def quarantine_reasons(dataset: str) -> list[str]:
    """The suite's quarantine reasons in precedence order, each once."""
    reasons: list[str] = []
    for expectation in suite_definition(dataset)["expectations"]:
        reason = expectation.get("meta", {}).get("quarantine_reason")
        if reason and reason not in reasons:
            reasons.append(reason)
    return reasons


@dataclass(frozen=True)
class ValidationOutcome:
    reasons: pd.Series  # first failing quarantine reason per row, None where the row is valid
    docs_url: str  # this validation's Data Docs page


def first_reasons(
    index: pd.Index, failures: list[tuple[str, list[Any]]], precedence: list[str]
) -> pd.Series:
    """Combine per-expectation failing row labels into one reason per row, by precedence."""
    rank = {reason: position for position, reason in enumerate(precedence)}
    reasons = pd.Series(None, index=index, dtype="object")
    for reason, labels in sorted(failures, key=lambda item: rank[item[0]]):
        if labels:
            unassigned = reasons.loc[labels].isna()
            reasons.loc[unassigned[unassigned].index] = reason
    return reasons


# Great Expectations is not thread-safe: its contexts, file stores and its process-wide
# project manager (the "current" context) are shared. One validation at a time per process.
_GX_LOCK = threading.RLock()


class SuiteRunner:
    """One Great Expectations file context per workspace, with a checkpoint per dataset."""

    def __init__(self, gx_root: Path, docs_dir: Path):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints each pandas batch by hashing every cell (a quarter of a stream file's
        # validation time); the fingerprint is a batch marker nothing here reads. GX skips it
        # for frames of HASH_THRESHOLD bytes or more, so 0 skips it always.
        pandas_execution_engine.HASH_THRESHOLD = 0

        self._gx = gx
        self._lock = _GX_LOCK
        gx_root.mkdir(parents=True, exist_ok=True)
        self.context = gx.get_context(mode="file", project_root_dir=str(gx_root))
        # GX reads and parses this (empty) YAML file again on every access to a context variable,
        # 34 times per validation; with no file it has no variables to substitute, as here.
        Path(self.context.root_directory, "uncommitted", "config_variables.yml").unlink(missing_ok=True)
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.context.variables.data_docs_sites = {
            _SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "site_section_builders": {
                    section: {"view": _COMPILED_ONCE_VIEW} for section in ("validations", "expectations")
                },
            }
        }
        self.context.variables.save()
        source = self.context.data_sources.add_or_update_pandas(_DATASOURCE)
        self._checkpoints = {dataset: self._register(source, dataset) for dataset in DATASETS}

    def _register(self, source: Any, dataset: str) -> Any:
        gx = self._gx
        definition = suite_definition(dataset)
        suite = gx.ExpectationSuite(
            name=definition["name"],
            expectations=[_expectation(gx, item) for item in definition["expectations"]],
            meta=definition.get("meta", {}),
        )
        if len(suite.expectations) != len(definition["expectations"]):
            raise RuntimeError(f"suite {dataset}: some expectations were not understood by GX")
        suite = self.context.suites.add_or_update(suite)
        asset_names = {asset.name for asset in source.assets}
        asset = (
            source.get_asset(dataset)
            if dataset in asset_names
            else source.add_dataframe_asset(name=dataset)
        )
        batch_names = {batch.name for batch in asset.batch_definitions}
        batch = (
            asset.get_batch_definition("whole_file")
            if "whole_file" in batch_names
            else asset.add_batch_definition_whole_dataframe("whole_file")
        )
        definition_run = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=dataset, data=batch, suite=suite)
        )
        return self.context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=dataset,
                validation_definitions=[definition_run],
                actions=[],
                result_format={"result_format": "COMPLETE"},
            )
        )

    def validate(
        self,
        dataset: str,
        frame: pd.DataFrame,
        run_name: str,
        parameters: dict[str, Any] | None = None,
    ) -> ValidationOutcome:
        from great_expectations.core.run_identifier import RunIdentifier

        # GX store keys may not contain '/', and the run name is what Data Docs list per page.
        run_id = RunIdentifier(run_name=run_name.replace("/", "~"))
        with self._lock:
            result = self._checkpoints[dataset].run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=parameters or {},
                run_id=run_id,
            )
            result_id, validation = next(iter(result.run_results.items()))
            # Render this validation's page now; the index is built once per run (build_docs).
            self.context.build_data_docs(
                site_names=[_SITE], resource_identifiers=[result_id], build_index=False
            )
            urls = self.context.get_docs_sites_urls(
                resource_identifier=result_id, site_name=_SITE, only_if_exists=False
            )
        failures = []
        for item in validation.results:
            reason = (item.expectation_config.meta or {}).get("quarantine_reason")
            if reason is None:
                continue
            if item.exception_info and item.exception_info.get("raised_exception"):
                message = item.exception_info.get("exception_message")
                raise RuntimeError(f"expectation for {reason} could not run: {message}")
            failures.append((reason, list(item.result.get("unexpected_index_list") or [])))
        reasons = first_reasons(frame.index, failures, quarantine_reasons(dataset))
        return ValidationOutcome(reasons=reasons, docs_url=urls[0]["site_url"] if urls else "")

    def build_docs(self) -> str:
        """Render the suites' pages and the site index; return the index URL."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        suites = [ExpectationSuiteIdentifier(name=dataset) for dataset in DATASETS]
        with self._lock:
            self.context.build_data_docs(site_names=[_SITE], resource_identifiers=suites)
            urls = self.context.get_docs_sites_urls(site_name=_SITE)
        return urls[0]["site_url"] if urls else ""


def _expectation(gx: Any, item: dict[str, Any]) -> Any:
    class_name = "".join(part.capitalize() for part in item["type"].split("_"))
    expectation_class = getattr(gx.expectations, class_name, None)
    if expectation_class is None:
        raise RuntimeError(f"unknown expectation type {item['type']!r} in expectations/")
    return expectation_class(**item["kwargs"], meta=item.get("meta"))


_runners: dict[Path, SuiteRunner] = {}


def suite_runner(gx_root: Path, docs_dir: Path) -> SuiteRunner:
    """The process-wide runner for a workspace (creating a GX context costs about a second)."""
    with _GX_LOCK:  # creating a context changes GX's process-wide state too
        runner = _runners.get(gx_root)
        if runner is None:
            runner = _runners[gx_root] = SuiteRunner(gx_root, docs_dir)
        return runner
