"""Build script: the package, plus the models, mappings and kits it ships as package data.

Those three stay top-level folders of the repository (they are the project's artefacts,
not code) and are mapped into the package as ``liveinstrument/shipped/<kind>``, where
``liveinstrument.paths`` finds them through importlib.resources; a source checkout reads
the top-level folders directly. Only the files an instrument needs ship: the training
checkpoint ``models/gan_resume/`` and the training manifest stay out of the wheel.
The C real-time core (liveinstrument/engine/native) is built as the extension module
``liveinstrument.engine._rtcore``. Everything else about the project is declared in pyproject.toml.
"""
from setuptools import Extension, find_packages, setup

SHIPPED = {
    "models": ["*.json", "*.safetensors", "README.md"],
    "mappings": ["*"],      # mappings and the control-surface files that go with them
    "kits": ["*/kit.yaml", "*/kit_audio/*.wav"],
}

setup(
    packages=find_packages(include=["liveinstrument", "liveinstrument.*"])
    + [f"liveinstrument.shipped.{kind}" for kind in SHIPPED],
    package_dir={f"liveinstrument.shipped.{kind}": kind for kind in SHIPPED},
    # data files next to the modules (e.g. capture/fast_class_weights.json) ship with them
    package_data={"": ["*.json", "*.md"], "liveinstrument.web": ["static/*"],
                  "liveinstrument.engine": ["native/*.c", "native/*.h"],
                  **{f"liveinstrument.shipped.{kind}": globs for kind, globs in SHIPPED.items()}},
    exclude_package_data={"liveinstrument.shipped.models": ["gan_resume/*", "*.csv"]},
    ext_modules=[Extension(
        "liveinstrument.engine._rtcore",
        sources=["liveinstrument/engine/native/module.c", "liveinstrument/engine/native/rtcore.c",
                 "liveinstrument/engine/native/jack_backend.c"],
        depends=["liveinstrument/engine/native/rtcore.h"],
        extra_compile_args=["-O2", "-std=gnu11"],
        libraries=["dl", "m", "pthread"],
    )],
)
