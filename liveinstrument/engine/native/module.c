/* The importable face of the core: an empty CPython module, so setuptools builds (and the
 * wheel ships) the shared object; Python finds its path through this module and loads the
 * C functions with ctypes (see ../native_core.py). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_rtcore",
                                 "DrumGAN Live real-time core (C; loaded with ctypes)", -1, NULL};
PyMODINIT_FUNC PyInit__rtcore(void) { return PyModule_Create(&mod); }
