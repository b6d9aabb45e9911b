"""The fast path's per-row loops in C (dncsync.columnar.kernels); everything else: pyproject.toml.

The extension is optional: where no C compiler is at hand the install goes on, and the same
answers come from numpy, more slowly. With DNCSYNC_REQUIRE_KERNELS=1 (as .ci/run sets it) it is
mandatory: a C file that does not compile fails the install, rather than hiding behind an
earlier build's module left in the source tree. (Declared here rather than in pyproject.toml,
where setuptools still calls extension modules experimental and warns on every install.)
"""

import os

from setuptools import Extension, setup

REQUIRE_KERNELS = os.environ.get("DNCSYNC_REQUIRE_KERNELS", "").strip().lower() in {
    "1",
    "true",
    "yes",
    "on",
}

setup(
    ext_modules=[
        Extension(
            "dncsync.columnar._kernels",
            sources=["src/dncsync/columnar/_kernels.c"],
            optional=not REQUIRE_KERNELS,
            extra_compile_args=["-O3"],
        )
    ]
)
