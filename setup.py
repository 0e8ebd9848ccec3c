"""Build script: the compiled kernels (im2col_cython), the buffer cache (fast_layers._buffer_cache) and the
pure-Python packages.

Compiler directives are set here and nowhere else. Environment switches:

CNNKIT_DEBUG_KERNELS=1   build the kernels with bounds checking and initialized-view checks on
                         (slower; used by .ci/run for one test pass so an out-of-bounds index fails loudly)
CNNKIT_NO_OPENMP=1       build without OpenMP (the prange loops then run on one thread)

If the extension cannot be compiled at all, installation still succeeds (the extension is
optional) and fast_layers falls back to its pure-numpy kernels with one warning.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))

# Folders of the checkout that are not part of the importable product (they ship in the sdist only).
NOT_SHIPPED = ("tests", "benchmarks", "notebooks", "docs", "build", "dist")


def _distribution_contents(root=HERE):
    """Every top-level module and package of the checkout, found rather than listed.

    A hand-kept list once left ``im2col`` out of the wheel while every test passed inside the
    checkout; finding them makes a new module ship the day it is added.
    """
    modules = sorted(name[:-3] for name in os.listdir(root)
                     if name.endswith(".py") and name != "setup.py" and name[:-3].isidentifier())
    packages = find_packages(root, exclude=[f"{d}*" for d in NOT_SHIPPED])
    return modules, packages


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


DEBUG_KERNELS = _flag("CNNKIT_DEBUG_KERNELS")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG_KERNELS,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG_KERNELS,
    "nonecheck": False,
    "embedsignature": True,
}


def _compiler_supports_openmp():
    """Try to compile and link a tiny OpenMP program with the C compiler setuptools will use."""
    if _flag("CNNKIT_NO_OPENMP") or sys.platform == "darwin":
        return False
    cc = os.environ.get("CC", "cc").split()[0]
    if shutil.which(cc) is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as fh:
            fh.write("#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n")
        try:
            res = subprocess.run([cc, "-fopenmp", src, "-o", os.path.join(tmp, "t")],
                                 capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
        return res.returncode == 0


class BuildExtWithFallbackMessage(build_ext):
    """build_ext that explains what a failed optional build means for the user."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # pragma: no cover - only on machines without a compiler
            print(f"cnnkit: could not build im2col_cython ({exc}); the pure-numpy kernels will be used.")


# -fno-trapping-math: the kernels never read floating-point exception flags, and without it gcc
# will not evaluate both sides of a float comparison select, which keeps the pooling loops from
# vectorizing (im2col_cython.pyx, 2x2 pooling). It changes no result, only which flags get set.
compile_args = ["-O3", "-fno-trapping-math"] if os.name != "nt" else ["/O2"]
link_args = []
if _compiler_supports_openmp():
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")

extensions = [
    Extension(
        "im2col_cython",
        ["im2col_cython.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                       ("CNNKIT_DEBUG_KERNELS", "1" if DEBUG_KERNELS else "0")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        optional=True,
    ),
    # The numpy memory handler that keeps large freed buffers warm (fast_layers.buffers); without
    # it cnnkit allocates through numpy's default handler, as any numpy code does.
    Extension(
        "fast_layers._buffer_cache",
        ["fast_layers/_buffer_cache.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args[:1],
        optional=True,
    ),
]

PY_MODULES, PACKAGES = _distribution_contents()

setup(
    py_modules=PY_MODULES,
    packages=PACKAGES,
    ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, quiet=True,
                          # Always regenerate: the directives depend on the environment, not the .pyx.
                          force=True),
    cmdclass={"build_ext": BuildExtWithFallbackMessage},
)
