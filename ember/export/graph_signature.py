"""What each input and output of an exported graph is (``torch.export.graph_signature``).

An exported graph takes its parameters, buffers and constant tensors as inputs, before
the user's inputs (PyTorch "lifts" them): ``forward(p_fc_weight, b_bn_running_mean,
c_k, x)``. The signature says which placeholder is which state-dict entry:
``InputSpec(kind=InputKind.PARAMETER, arg=TensorArgument(name='p_fc_weight'),
target='fc.weight')``; outputs are USER_OUTPUT.
"""
import dataclasses
import enum

__all__ = ["InputKind", "OutputKind", "InputSpec", "OutputSpec", "TensorArgument",
           "SymIntArgument", "ConstantArgument", "ExportGraphSignature"]


class InputKind(enum.Enum):
    USER_INPUT = 1
    PARAMETER = 2
    BUFFER = 3
    CONSTANT_TENSOR = 4
    CUSTOM_OBJ = 5
    TOKEN = 6


class OutputKind(enum.Enum):
    USER_OUTPUT = 1
    LOSS_OUTPUT = 2
    BUFFER_MUTATION = 3
    GRADIENT_TO_PARAMETER = 4
    GRADIENT_TO_USER_INPUT = 5
    USER_INPUT_MUTATION = 6
    TOKEN = 7
    PARAMETER_MUTATION = 8


@dataclasses.dataclass
class TensorArgument:
    name: str


@dataclasses.dataclass
class SymIntArgument:
    name: str


@dataclasses.dataclass
class ConstantArgument:
    name: str
    value: object


@dataclasses.dataclass
class InputSpec:
    kind: InputKind
    arg: object
    target: object = None
    persistent: object = None

    def __post_init__(self):
        if self.kind == InputKind.BUFFER and self.persistent is None:
            raise AssertionError("InputSpec of a BUFFER needs persistent=True/False")


@dataclasses.dataclass
class OutputSpec:
    kind: OutputKind
    arg: object
    target: object = None


class ExportGraphSignature:
    """The input and output specs of an exported graph, with PyTorch's views of them."""

    def __init__(self, input_specs, output_specs):
        self.input_specs = list(input_specs)
        self.output_specs = list(output_specs)

    def _inputs(self, kind):
        return tuple(s.target for s in self.input_specs if s.kind == kind)

    @property
    def parameters(self):
        return self._inputs(InputKind.PARAMETER)

    @property
    def buffers(self):
        return self._inputs(InputKind.BUFFER)

    @property
    def non_persistent_buffers(self):
        return tuple(s.target for s in self.input_specs
                     if s.kind == InputKind.BUFFER and s.persistent is False)

    @property
    def lifted_tensor_constants(self):
        return self._inputs(InputKind.CONSTANT_TENSOR)

    @property
    def lifted_custom_objs(self):
        return self._inputs(InputKind.CUSTOM_OBJ)

    @property
    def user_inputs(self):
        out = []
        for s in self.input_specs:
            if s.kind == InputKind.USER_INPUT:
                out.append(s.arg.value if isinstance(s.arg, ConstantArgument) else s.arg.name)
        return tuple(out)

    @property
    def user_outputs(self):
        out = []
        for s in self.output_specs:
            if s.kind == OutputKind.USER_OUTPUT:
                out.append(s.arg.value if isinstance(s.arg, ConstantArgument) else s.arg.name)
        return tuple(out)

    def _map(self, kind):
        return {s.arg.name: s.target for s in self.input_specs if s.kind == kind}

    @property
    def inputs_to_parameters(self):
        return self._map(InputKind.PARAMETER)

    @property
    def inputs_to_buffers(self):
        return self._map(InputKind.BUFFER)

    @property
    def inputs_to_lifted_tensor_constants(self):
        return self._map(InputKind.CONSTANT_TENSOR)

    @property
    def buffers_to_mutate(self):
        return {s.arg.name: s.target for s in self.output_specs
                if s.kind == OutputKind.BUFFER_MUTATION}

    @property
    def user_inputs_to_mutate(self):
        return {s.arg.name: s.target for s in self.output_specs
                if s.kind == OutputKind.USER_INPUT_MUTATION}

    @property
    def backward_signature(self):
        return None

    @property
    def assertion_dep_token(self):
        return None

    def __repr__(self):
        return f"ExportGraphSignature(input_specs={self.input_specs!r}, " \
               f"output_specs={self.output_specs!r})"

    def __str__(self):
        lines = ["# inputs"]
        for s in self.input_specs:
            text = f"{s.arg.name}: {s.kind.name}"
            if s.target is not None:
                text += f" target='{s.target}'"
            if s.persistent is not None:
                text += f" persistent={s.persistent}"
            lines.append(text)
        lines += ["", "# outputs"]
        for s in self.output_specs:
            text = f"{s.arg.name}: {s.kind.name}"
            if s.target is not None:
                text += f" target='{s.target}'"
            lines.append(text)
        return "\n" + "\n".join(lines) + "\n"
