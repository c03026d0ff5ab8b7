"""Job parameter declarations and validation, shared by the jobs and the host CLI.

A parameter's type is the type of its default; floats also accept integers. Validation
errors name the parameter and the expected type so a user can fix a `--set` at once.
"""

import collections

Param = collections.namedtuple("Param", "default help choices")
Param.__new__.__defaults__ = (None,)


class ParamError(ValueError):
    """A parameter is unknown or has the wrong type or value."""


def _type_name(value):
    return {bool: "bool", int: "int", float: "float", str: "string"}[type(value)]


def check_value(name, spec, value):
    """Return `value` converted to the parameter's type, or raise ParamError."""
    expected = type(spec.default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise ParamError("parameter %r: %s is too large for a float" % (name, value))
    if type(value) is not expected:
        raise ParamError("parameter %r must be a %s, got %r" % (name, _type_name(spec.default), value))
    if spec.choices is not None and value not in spec.choices:
        raise ParamError("parameter %r must be one of %s, got %r"
                         % (name, ", ".join(repr(c) for c in spec.choices), value))
    return value


def resolve(specs, given):
    """Defaults overlaid with `given`; unknown names raise ParamError listing the known ones."""
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise ParamError("unknown parameter %r (known: %s)" % (unknown[0], ", ".join(sorted(specs))))
    resolved = {}
    for name in sorted(specs):
        spec = specs[name]
        resolved[name] = check_value(name, spec, given[name]) if name in given else spec.default
    return resolved


# Every job takes `device`; harness_jobs.__main__ applies it before TensorFlow loads.
DEVICE = Param("auto", "auto: a GPU when TensorFlow sees one; cpu: GPUs hidden before TensorFlow loads; "
                       "gpu: a GPU is required (the job is skipped without one)", ("auto", "cpu", "gpu"))
