"""Great Expectations' Data Docs page view, with each template compiled once per process.

GX's Jinja view makes a new Jinja environment for every page it renders, so every page compiled
GX's templates again (18 of them for a stream file's validation page): half of the time the page
took to render. This is GX's own page view, with the same templates and the same output; its
environments share one bytecode cache, so a template is compiled the first time only. The Data
Docs site uses it for validation and suite pages (`suites.SuiteRunner`).
"""

from __future__ import annotations

import threading

from great_expectations.render.view import DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled templates in memory, keyed by Jinja by template name and source checksum."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: Bucket) -> None:
        compiled = bucket.bytecode_to_string()
        with self._lock:
            self._compiled[bucket.key] = compiled


_COMPILED_TEMPLATES = _ProcessBytecodeCache()


class CompiledOnceJinjaPageView(DefaultJinjaPageView):
    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = _COMPILED_TEMPLATES
