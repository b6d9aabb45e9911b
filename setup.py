"""The fast path's per-row loops in C (dncsync.columnar.kernels); everything else: pyproject.toml.

The extension is optional: where no C compiler is at hand the install goes on, and the same
answers come from numpy, more slowly. (Declared here rather than in pyproject.toml, where
setuptools still calls extension modules experimental and warns on every install.)
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dncsync.columnar._kernels",
            sources=["src/dncsync/columnar/_kernels.c"],
            optional=True,
            extra_compile_args=["-O3"],
        )
    ]
)
