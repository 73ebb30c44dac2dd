"""Setuptools shim so ``pip install --no-index --no-build-isolation .`` works offline.

All metadata lives in pyproject.toml. setuptools < 70.1 (the 65.x/66.x that a
Python 3.11 venv bundles) builds wheels through the third-party ``wheel``
package, which such a venv lacks. When ``wheel`` is missing we register this
minimal, stdlib-only ``bdist_wheel`` (pure-Python, py3-none-any) instead.
"""

import base64
import hashlib
import os
import shutil
import zipfile

from setuptools import Command, setup


class MiniBdistWheel(Command):
    """Build a py3-none-any wheel from ``build_py`` output and egg-info metadata."""

    description = "build a pure-Python wheel without the 'wheel' package"
    user_options = [("dist-dir=", "d", "directory for the built wheel")]

    def initialize_options(self):
        self.dist_dir = None

    def finalize_options(self):
        self.dist_dir = self.dist_dir or "dist"

    def egg2dist(self, egginfo_path, distinfo_path):
        """Turn an .egg-info dir into a .dist-info dir (used by ``dist_info``)."""
        os.makedirs(distinfo_path, exist_ok=True)
        shutil.copy(os.path.join(egginfo_path, "PKG-INFO"),
                    os.path.join(distinfo_path, "METADATA"))
        for name in ("entry_points.txt", "top_level.txt"):
            src = os.path.join(egginfo_path, name)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(distinfo_path, name))

    def run(self):
        self.run_command("build_py")
        build_lib = self.get_finalized_command("build_py").build_lib
        self.run_command("egg_info")
        egg_info = self.get_finalized_command("egg_info").egg_info
        name = self.distribution.get_name().replace("-", "_")
        stem = f"{name}-{self.distribution.get_version()}"
        dist_info = f"{stem}.dist-info"
        staging = os.path.join(os.path.dirname(build_lib), "wheel-staging")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(build_lib, staging)
        self.egg2dist(egg_info, os.path.join(staging, dist_info))
        with open(os.path.join(staging, dist_info, "WHEEL"), "w", encoding="utf-8") as fh:
            fh.write("Wheel-Version: 1.0\nGenerator: setup.py MiniBdistWheel\n"
                     "Root-Is-Purelib: true\nTag: py3-none-any\n")
        os.makedirs(self.dist_dir, exist_ok=True)
        wheel_path = os.path.join(self.dist_dir, f"{stem}-py3-none-any.whl")
        record = []
        with zipfile.ZipFile(wheel_path, "w", zipfile.ZIP_DEFLATED) as zf:
            for root, dirs, files in os.walk(staging):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for fname in sorted(files):
                    path = os.path.join(root, fname)
                    arcname = os.path.relpath(path, staging).replace(os.sep, "/")
                    with open(path, "rb") as fh:
                        data = fh.read()
                    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
                    record.append(f"{arcname},sha256={digest.rstrip(b'=').decode()},{len(data)}")
                    zf.writestr(arcname, data)
            record.append(f"{dist_info}/RECORD,,")
            zf.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
        shutil.rmtree(staging)
        self.announce(f"created {wheel_path}", level=2)


try:
    import wheel  # noqa: F401  # the real bdist_wheel, when available
    CMDCLASS = {}
except ImportError:
    CMDCLASS = {"bdist_wheel": MiniBdistWheel}

setup(cmdclass=CMDCLASS)
