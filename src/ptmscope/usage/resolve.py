"""One Python module read statically: its imports and scopes, the calls that match a signature, and what
their arguments evaluate to.

The walk records, per scope, every simple binding (assignments, loop variables, ``with ... as``,
parameters and their defaults), the classes and the ``self.x`` attributes their methods set, argparse
``add_argument`` defaults, and every call. A call's function is resolved through the imports to a fully
qualified name; an argument is evaluated to a :mod:`values` value by following names to their bindings
(the last one before the call in its own scope, else the enclosing scopes'), class constants, parameter
defaults, string operations, dict and list literals, environment defaults and config-file loads. What
depends on another file stays symbolic for the repository-level pass. Nothing is executed or imported.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .signatures import Catalogue, Signature
from .values import (
    ArgRef,
    Choice,
    Concat,
    ConfigDoc,
    Const,
    DictVal,
    FileHandle,
    ImportRef,
    LocalPath,
    SeqVal,
    Unknown,
    Value,
    concat,
    text_of,
)

MAX_DEPTH = 24
MAX_ITEMS = 256
EXPRESSION_CHARS = 300
_STDLIB = frozenset(sys.stdlib_module_names)
# Third-party packages a repository never ships as its own module: an import of them holds no constant
# worth looking for in the repository.
_EXTERNAL = frozenset({"numpy", "np", "pandas", "torch", "tensorflow", "tf", "jax", "sklearn", "scipy", "yaml",
                       "omegaconf", "hydra", "requests", "tqdm", "matplotlib", "PIL", "cv2", "datasets", "accelerate",
                       "wandb", "fire", "click", "typer", "gradio", "streamlit", "fastapi", "pydantic", "toml",
                       "tomli", "dotenv", "absl", "lightning", "pytorch_lightning", "evaluate", "tokenizers"})
_PATH_CALLS = frozenset({"os.path.join", "os.path.abspath", "os.path.expanduser", "os.path.dirname",
                         "os.path.realpath", "os.path.normpath", "os.path.expandvars", "pathlib.Path",
                         "pathlib.PurePath", "pathlib.PosixPath", "pathlib.WindowsPath", "posixpath.join",
                         "os.getcwd", "pathlib.Path.home", "pathlib.Path.cwd"})
_ENV_CALLS = frozenset({"os.environ.get", "os.getenv", "os.environ.setdefault"})
_OPEN_CALLS = frozenset({"open", "io.open", "codecs.open", "builtins.open"})
# Loader -> (format, reads a path string itself)
_LOADERS: dict[str, tuple[str, bool]] = {
    "yaml.safe_load": ("yaml", False), "yaml.load": ("yaml", False), "yaml.full_load": ("yaml", False),
    "yaml.unsafe_load": ("yaml", False), "ruamel.yaml.YAML.load": ("yaml", False),
    "json.load": ("json", False), "json.loads": ("json", False),
    "toml.load": ("toml", True), "tomllib.load": ("toml", False), "tomli.load": ("toml", False),
    "omegaconf.OmegaConf.load": ("any", True), "mmcv.Config.fromfile": ("any", True),
    "mmengine.Config.fromfile": ("any", True), "easydict.EasyDict": ("same", False),
}
_CONFIGPARSERS = frozenset({"configparser.ConfigParser", "configparser.RawConfigParser",
                            "configparser.SafeConfigParser"})
_STR_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "replace", "removeprefix", "removesuffix",
                          "format", "title"})
_PATH_METHODS = frozenset({"joinpath", "resolve", "absolute", "expanduser", "with_name", "with_suffix", "parent"})


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that can hold nodes worth visiting (not ``ctx``, not constants' values)."""
    found = _FIELDS.get(kind)
    if found is None:
        found = tuple(f for f in getattr(kind, "_fields", ()) if f not in ("ctx", "value")
                      or (f == "value" and kind is not ast.Constant))
        _FIELDS[kind] = found
    return found


@dataclass(frozen=True, slots=True)
class Binding:
    line: int
    kind: str  # value / for / aug / opaque / class
    node: ast.AST | None


@dataclass(eq=False)
class ClassInfo:
    name: str
    bases: list[ast.expr]
    scope: Scope
    self_attrs: dict[str, list[tuple[int, ast.expr, Scope]]] = field(default_factory=dict)


@dataclass(eq=False)
class Scope:
    kind: str  # module / class / function
    parent: Scope | None
    line: int = 0
    name: str = ""  # the class's or function's name
    positional: tuple[str, ...] = ()  # a function's positional parameters, in order
    cls: ClassInfo | None = None  # the class whose method this is (function scopes)
    self_name: str | None = None  # the method's first parameter
    assigns: dict[str, list[Binding]] = field(default_factory=dict)
    params: dict[str, ast.expr | None] = field(default_factory=dict)
    reads: dict[str, ast.expr] = field(default_factory=dict)  # NAME.read(path): configparser
    # A parameter the function checks against literals (`assert p in {...}`, `if p not in (...): raise`):
    # those literals are the values it can hold, where no caller says which.
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallSite:
    """A matched call (or reference) with its argument values, before the repository-level pass."""

    signature: int  # index into the catalogue's signatures
    call: str  # the qualified name
    line: int
    model: Value | None  # None: the argument is absent
    expression: str
    revision: Value | None
    trust_remote_code: Value | None
    use_safetensors: Value | None
    local_forced: bool = False
    confidence: float = 1.0


def _unparse(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # unparse has no documented failure mode; a report must not die on one expression
        return type(node).__name__
    return text if len(text) <= EXPRESSION_CHARS else text[:EXPRESSION_CHARS] + "…"


class ModuleAnalyzer:
    """One parsed module. ``path`` is its repository-relative path (the origin of symbolic values)."""

    def __init__(self, tree: ast.Module, path: str, catalogue: Catalogue) -> None:
        self.tree = tree
        self.path = path
        self.cat = catalogue
        self.imports: dict[str, tuple[str, int, bool]] = {}  # name -> (qualified name, level, from-import)
        self.classes: dict[str, ClassInfo] = {}
        self.argparse: dict[str, list[tuple[ast.expr, Scope, int]]] = {}
        self.calls: list[tuple[ast.Call, Scope]] = []
        self.module = Scope("module", None)
        self._param_memo: dict[tuple[int, str], Value | None] = {}
        self._calls_by_name: dict[str, list[tuple[ast.Call, Scope]]] | None = None
        self._handlers: dict[type, Any] = {
            ast.Import: self._import, ast.ImportFrom: self._import_from, ast.FunctionDef: self._function,
            ast.AsyncFunctionDef: self._function, ast.ClassDef: self._class, ast.Assign: self._assign,
            ast.AnnAssign: self._ann_assign, ast.AugAssign: self._aug_assign, ast.NamedExpr: self._named,
            ast.For: self._for, ast.AsyncFor: self._for, ast.With: self._with, ast.AsyncWith: self._with,
            ast.Expr: self._expr, ast.Call: self._call, ast.Lambda: self._lambda,
            ast.ExceptHandler: self._except,
        }
        for stmt in tree.body:
            self._visit(stmt, self.module)

    # --- the walk ------------------------------------------------------------------------------------------

    def _visit(self, node: ast.AST, scope: Scope) -> None:
        """Hand ``node`` to its handler, or walk its children (in source order) until nodes with handlers;
        iterative, and skipping the ``ctx`` children every name carries, since the walk is most of the cost."""
        handlers = self._handlers
        stack = [node]
        while stack:
            current = stack.pop()
            handler = handlers.get(type(current))
            if handler is not None:
                handler(current, scope)
                continue
            children: list[ast.AST] = []
            for name in _fields(type(current)):
                value = getattr(current, name, None)
                if isinstance(value, list):
                    children.extend(v for v in value if isinstance(v, ast.AST))
                elif isinstance(value, ast.AST):
                    children.append(value)
            children.reverse()
            stack.extend(children)

    def _visit_all(self, nodes: list[Any], scope: Scope) -> None:
        for n in nodes:
            if n is not None:
                self._visit(n, scope)

    @staticmethod
    def _bind(scope: Scope, name: str, binding: Binding) -> None:
        scope.assigns.setdefault(name, []).append(binding)

    def _import(self, node: ast.Import, scope: Scope) -> None:
        for alias in node.names:
            if alias.asname:
                self.imports[alias.asname] = (alias.name, 0, False)
            else:
                top = alias.name.split(".", 1)[0]
                self.imports[top] = (top, 0, False)

    def _import_from(self, node: ast.ImportFrom, scope: Scope) -> None:
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                continue
            qual = f"{module}.{alias.name}" if module else alias.name
            self.imports[alias.asname or alias.name] = (qual, node.level, True)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        self._visit_all(node.decorator_list, scope)
        args = node.args
        self._visit_all(list(args.defaults) + list(args.kw_defaults), scope)
        self._bind(scope, node.name, Binding(node.lineno, "opaque", None))
        positional = list(args.posonlyargs) + list(args.args)
        inner = Scope("function", scope, node.lineno, name=node.name, positional=tuple(a.arg for a in positional))
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        for arg, default in zip(positional, defaults, strict=True):
            inner.params[arg.arg] = default
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            inner.params[arg.arg] = kw_default
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                inner.params[extra.arg] = None
        if scope.kind == "class" and positional:
            inner.cls = self.classes.get(scope.name)
            inner.self_name = positional[0].arg
        inner.allowed = _allowed_values(node.body, inner.params)
        self._visit_all(node.body, inner)

    def _lambda(self, node: ast.Lambda, scope: Scope) -> None:
        self._visit(node.body, scope)

    def _class(self, node: ast.ClassDef, scope: Scope) -> None:
        self._visit_all(node.decorator_list + node.bases + [k.value for k in node.keywords], scope)
        inner = Scope("class", scope, node.lineno, name=node.name)
        info = ClassInfo(node.name, list(node.bases), inner)
        self.classes[node.name] = info
        self._bind(scope, node.name, Binding(node.lineno, "class", None))
        self._visit_all(node.body, inner)

    def _target(self, target: ast.expr, value: ast.expr | None, scope: Scope, line: int) -> None:
        if isinstance(target, ast.Name):
            self._bind(scope, target.id, Binding(line, "value" if value is not None else "opaque", value))
        elif isinstance(target, ast.Attribute):
            if (scope.cls is not None and isinstance(target.value, ast.Name) and target.value.id == scope.self_name
                    and value is not None):
                scope.cls.self_attrs.setdefault(target.attr, []).append((line, value, scope))
        elif isinstance(target, ast.Tuple | ast.List):
            paired = (isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts)
                      and not any(isinstance(e, ast.Starred) for e in target.elts + value.elts))
            for i, element in enumerate(target.elts):
                self._target(element, value.elts[i] if paired and isinstance(value, ast.Tuple | ast.List) else None,
                             scope, line)
        elif isinstance(target, ast.Starred):
            self._target(target.value, None, scope, line)

    def _assign(self, node: ast.Assign, scope: Scope) -> None:
        self._visit(node.value, scope)
        for target in node.targets:
            self._target(target, node.value, scope, node.lineno)
            if not isinstance(target, ast.Name):
                self._visit(target, scope)

    def _ann_assign(self, node: ast.AnnAssign, scope: Scope) -> None:
        if node.value is not None:
            self._visit(node.value, scope)
            self._target(node.target, node.value, scope, node.lineno)

    def _aug_assign(self, node: ast.AugAssign, scope: Scope) -> None:
        self._visit(node.value, scope)
        if isinstance(node.target, ast.Name):
            kind = "aug" if isinstance(node.op, ast.Add) else "opaque"
            self._bind(scope, node.target.id, Binding(node.lineno, kind, node.value))

    def _named(self, node: ast.NamedExpr, scope: Scope) -> None:
        self._visit(node.value, scope)
        self._bind(scope, node.target.id, Binding(node.lineno, "value", node.value))

    def _for(self, node: ast.For | ast.AsyncFor, scope: Scope) -> None:
        self._visit(node.iter, scope)
        if isinstance(node.target, ast.Name):
            self._bind(scope, node.target.id, Binding(node.lineno, "for", node.iter))
        else:
            self._target(node.target, None, scope, node.lineno)
        self._visit_all(node.body + node.orelse, scope)

    def _with(self, node: ast.With | ast.AsyncWith, scope: Scope) -> None:
        for item in node.items:
            self._visit(item.context_expr, scope)
            if item.optional_vars is not None:
                self._target(item.optional_vars, item.context_expr, scope, node.lineno)
        self._visit_all(node.body, scope)

    def _except(self, node: ast.ExceptHandler, scope: Scope) -> None:
        if node.name:
            self._bind(scope, node.name, Binding(node.lineno, "opaque", None))
        self._visit_all(node.body, scope)

    def _expr(self, node: ast.Expr, scope: Scope) -> None:
        call = node.value
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("read", "read_file") and isinstance(call.func.value, ast.Name) and call.args):
            scope.reads[call.func.value.id] = call.args[0]
        self._visit(call, scope)

    def _call(self, node: ast.Call, scope: Scope) -> None:
        self.calls.append((node, scope))
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("add_argument", "set_defaults"):
            self._argparse(node, scope, func.attr)
        self._visit(func, scope)
        self._visit_all(node.args, scope)
        for keyword in node.keywords:
            self._visit(keyword.value, scope)

    def _argparse(self, node: ast.Call, scope: Scope, method: str) -> None:
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if method == "set_defaults":
            for name, value in keywords.items():
                self.argparse.setdefault(name, []).append((value, scope, node.lineno))
            return
        default = keywords.get("default")
        if default is None:
            return
        dest: str | None = None
        named = keywords.get("dest")
        if isinstance(named, ast.Constant) and isinstance(named.value, str):
            dest = named.value
        else:
            flags = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            long = [f for f in flags if f.startswith("--")]
            if long:
                dest = long[0][2:]
            elif flags and not flags[0].startswith("-"):
                dest = flags[0]
            elif flags:
                dest = flags[0].lstrip("-")
        if dest:
            self.argparse.setdefault(dest.replace("-", "_"), []).append((default, scope, node.lineno))

    # --- names to qualified names ---------------------------------------------------------------------------

    def qualname(self, node: ast.expr, scope: Scope, depth: int = 0) -> str | None:
        """The fully qualified name ``node`` refers to through the imports, or None."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value, scope, depth + 1)
            return f"{base}.{node.attr}" if base else None
        if not isinstance(node, ast.Name):
            return None
        name = node.id
        binding, owner = self._binding(name, scope, node.lineno if hasattr(node, "lineno") else 10**9)
        if binding is not None and owner is not None:
            if binding.kind == "class":
                info = self.classes.get(name)
                # A class derived from a library class inherits its loaders (class M(BertPreTrainedModel)).
                for base_node in info.bases if info else ():
                    inherited = self.qualname(base_node, info.scope.parent or self.module, depth + 1) if info else None
                    if inherited and self.cat.is_root(inherited.split(".", 1)[0]):
                        return inherited
                return None
            if binding.kind == "value" and isinstance(binding.node, ast.Name | ast.Attribute):
                return self.qualname(binding.node, owner, depth + 1)
            if not (binding.kind == "value" and isinstance(binding.node, ast.Constant) and binding.node.value is None):
                return None  # shadowed by a local value (``try: import x / except: x = None`` is not)
        imported = self.imports.get(name)
        if imported is None or imported[1] > 0:
            return None
        return imported[0]

    def _binding(self, name: str, scope: Scope, line: int) -> tuple[Binding | None, Scope | None]:
        """The binding of ``name`` seen at ``line`` of ``scope``: the last one before it in the scope itself,
        else (parameters aside) the last one in an enclosing function or the module."""
        s: Scope | None = scope
        first = True
        while s is not None:
            if s.kind == "class" and not first:
                s = s.parent
                continue
            bindings = s.assigns.get(name)
            if bindings:
                if first:
                    before = [b for b in bindings if b.line < line]
                    if before:
                        return before[-1], s
                else:
                    return bindings[-1], s
            if s.kind == "function" and name in s.params:
                return None, None
            s = s.parent
            first = False
        return None, None

    # --- values -------------------------------------------------------------------------------------------

    def value(self, node: ast.expr | None, scope: Scope, line: int, depth: int = 0) -> Value:
        if node is None:
            return Unknown("")
        if depth > MAX_DEPTH:
            return Unknown(_unparse(node))
        try:
            return self._value(node, scope, line, depth)
        except RecursionError:
            return Unknown(_unparse(node))

    def _value(self, node: ast.expr, scope: Scope, line: int, depth: int) -> Value:
        d = depth + 1
        if isinstance(node, ast.Constant):
            v = node.value
            return Const(v) if isinstance(v, str | int | float | bool) or v is None else Unknown(_unparse(node))
        if isinstance(node, ast.JoinedStr):
            parts: list[Value] = []
            for piece in node.values:
                if isinstance(piece, ast.Constant):
                    parts.append(Const(str(piece.value)))
                elif (isinstance(piece, ast.FormattedValue) and piece.format_spec is None
                      and piece.conversion in (-1, 115)):
                    parts.append(self.value(piece.value, scope, line, d))
                else:
                    return Unknown(_unparse(node))
            return concat(parts)
        if isinstance(node, ast.BinOp):
            return self._binop(node, scope, line, d)
        if isinstance(node, ast.Name):
            return self._name(node.id, scope, line, d)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, scope, line, d)
        if isinstance(node, ast.Subscript):
            key = self.value(node.slice, scope, line, d)
            return subscript(self.value(node.value, scope, line, d), key)
        if isinstance(node, ast.Call):
            return self._call_value(node, scope, line, d)
        if isinstance(node, ast.Dict):
            items: list[tuple[str, Value]] = []
            for key_node, item in list(zip(node.keys, node.values, strict=True))[:MAX_ITEMS]:
                if isinstance(key_node, ast.Constant) and isinstance(key_node.value, str):
                    items.append((key_node.value, self.value(item, scope, line, d)))
            return DictVal(tuple(items))
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return SeqVal(tuple(self.value(e, scope, line, d) for e in node.elts[:MAX_ITEMS]))
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            for operand in node.values:
                found = self.value(operand, scope, line, d)
                if isinstance(found, Const) and not found.value:
                    continue
                return found if isinstance(found, Const | LocalPath) else Unknown(_unparse(node))
            return Const(None)
        if isinstance(node, ast.NamedExpr):
            return self.value(node.value, scope, line, d)
        if isinstance(node, ast.IfExp):
            test = self.value(node.test, scope, line, d)
            if isinstance(test, Const):
                return self.value(node.body if test.value else node.orelse, scope, line, d)
            return Choice((self.value(node.body, scope, line, d), self.value(node.orelse, scope, line, d)))
        return Unknown(_unparse(node))

    def _binop(self, node: ast.BinOp, scope: Scope, line: int, d: int) -> Value:
        left = self.value(node.left, scope, line, d)
        if isinstance(node.op, ast.Add):
            return concat([left, self.value(node.right, scope, line, d)])
        if isinstance(node.op, ast.Div) and isinstance(left, LocalPath):
            right = text_of(self.value(node.right, scope, line, d))
            return LocalPath(f"{left.text}/{right}" if right is not None else left.text)
        if isinstance(node.op, ast.Mod) and (template := text_of(left)) is not None:
            right_value = self.value(node.right, scope, line, d)
            args = right_value.items if isinstance(right_value, SeqVal) else (right_value,)
            texts = [text_of(a) for a in args]
            if all(t is not None for t in texts):
                try:
                    return Const(template % tuple(texts))
                except (TypeError, ValueError):
                    pass
        return Unknown(_unparse(node))

    def _name(self, name: str, scope: Scope, line: int, d: int) -> Value:
        binding, owner = self._binding(name, scope, line)
        if binding is not None and owner is not None:
            return self._bound(name, binding, owner, d)
        s: Scope | None = scope
        while s is not None:
            if s.kind == "class" and s is not scope:
                s = s.parent
                continue
            if s.kind == "function" and name in s.params and not (s is not scope and name in s.assigns):
                return self._parameter(s, name, d)
            if s.assigns.get(name) and s is not scope:
                break
            s = s.parent
        imported = self.imports.get(name)
        if imported is not None:
            return self._imported(name, imported)
        return Unknown(name)

    def _parameter(self, function: Scope, name: str, d: int) -> Value:
        """A parameter: what the module's own calls of the function pass for it (and the default where a call
        leaves it out); the default when the module never calls the function."""
        key = (id(function), name)
        if key in self._param_memo:
            return self._param_memo[key] or Unknown(name)
        self._param_memo[key] = None  # a recursive function asks again while this is worked out
        default = function.params[name]
        values: list[Value] = []
        for call, caller in self._callers(function)[:16]:
            offset = 1 if function.cls is not None and isinstance(call.func, ast.Attribute) else 0
            position = function.positional.index(name) - offset if name in function.positional else None
            arg = self._argument(call, position if position is None or position >= 0 else None, (name,))
            if arg is not None:
                values.append(self.value(arg, caller, call.lineno, d))
            elif default is not None:
                values.append(self.value(default, function.parent or self.module, function.line, d))
        if not values and default is not None:
            values.append(self.value(default, function.parent or self.module, function.line, d))
        options: list[Value] = []
        for v in values:
            options.extend(v.options if isinstance(v, Choice) else (v,))
        allowed = function.allowed.get(name)
        if allowed and (not options or any(isinstance(o, Unknown) for o in options)):
            # What callers pass is not known here, but the function admits only these.
            known: list[Value] = [o for o in options if not isinstance(o, Unknown)]
            options = known + [Const(v) for v in allowed]
        unique = tuple(dict.fromkeys(options))
        result: Value = Unknown(name) if not unique else unique[0] if len(unique) == 1 else Choice(unique)
        self._param_memo[key] = result
        return result

    def _callers(self, function: Scope) -> list[tuple[ast.Call, Scope]]:
        """The module's calls of a module-level function by name, or of a method by attribute name when no
        other class of the module defines a method of that name."""
        if self._calls_by_name is None:
            self._calls_by_name = {}
            for call, scope in self.calls:
                func = call.func
                key = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if key is not None:
                    self._calls_by_name.setdefault(key, []).append((call, scope))
        calls = self._calls_by_name.get(function.name, [])
        parent = function.parent
        if parent is not None and parent.kind == "module":
            return [(c, s) for c, s in calls if isinstance(c.func, ast.Name)]
        if function.cls is not None:
            owners = [info for info in self.classes.values() if function.name in info.scope.assigns]
            if len(owners) == 1:
                # A method called on an imported name is that library's method, not this class's.
                return [(c, s) for c, s in calls if isinstance(c.func, ast.Attribute)
                        and not (isinstance(c.func.value, ast.Name) and c.func.value.id in self.imports)]
        return []

    def _bound(self, name: str, binding: Binding, owner: Scope, d: int) -> Value:
        node = binding.node
        if binding.kind == "value" and node is not None:
            if (isinstance(node, ast.Call) and self.qualname(node.func, owner) in _CONFIGPARSERS
                    and name in owner.reads):
                return ConfigDoc(self.value(owner.reads[name], owner, binding.line, d), "ini", (), self.path)
            return self.value(node, owner, binding.line, d)  # type: ignore[arg-type]
        if binding.kind == "for" and node is not None:
            seq = self.value(node, owner, binding.line, d)  # type: ignore[arg-type]
            if isinstance(seq, SeqVal) and seq.items:
                return Choice(seq.items) if len(seq.items) > 1 else seq.items[0]
            if isinstance(seq, DictVal) and seq.items:
                keys = tuple(Const(k) for k, _ in seq.items)
                return Choice(keys) if len(keys) > 1 else keys[0]
            return Unknown(name)
        if binding.kind == "aug" and node is not None:
            before = self._name(name, owner, binding.line, d)
            return concat([before, self.value(node, owner, binding.line, d)])  # type: ignore[arg-type]
        return Unknown(name)

    def _imported(self, name: str, imported: tuple[str, int, bool]) -> Value:
        qual, level, from_import = imported
        root = qual.split(".", 1)[0]
        if level == 0 and (root in _STDLIB or root in _EXTERNAL or self.cat.is_root(root)):
            return Unknown(name)
        if from_import:
            module, _, attr = qual.rpartition(".")
            return ImportRef(module, attr, level, self.path)
        return ImportRef(qual, None, level, self.path)

    def _class_attr(self, info: ClassInfo, attr: str, d: int, seen: frozenset[str] = frozenset()) -> Value | None:
        if info.name in seen or d > MAX_DEPTH:
            return None
        bindings = info.scope.assigns.get(attr)
        if bindings:
            return self._bound(attr, bindings[-1], info.scope, d)
        sets = info.self_attrs.get(attr)
        if sets:
            values = {self.value(node, s, line, d) for line, node, s in sets}
            known = [v for v in values if not isinstance(v, Unknown)]
            if len(known) == 1:
                return known[0]
            return Unknown(f"self.{attr}")
        for base in info.bases:
            if isinstance(base, ast.Name) and base.id in self.classes:
                found = self._class_attr(self.classes[base.id], attr, d + 1, seen | {info.name})
                if found is not None:
                    return found
        return None

    def _attribute(self, node: ast.Attribute, scope: Scope, line: int, d: int) -> Value:
        base = node.value
        if isinstance(base, ast.Name):
            if scope.cls is not None and base.id in (scope.self_name, "cls", "self"):
                found = self._class_attr(scope.cls, node.attr, d)
                if found is not None:
                    return found
            elif base.id in self.classes and self._binding(base.id, scope, line)[0] is not None:
                found = self._class_attr(self.classes[base.id], node.attr, d)
                if found is not None:
                    return found
        value = self.value(base, scope, line, d)
        result = attribute(value, node.attr)
        if not isinstance(result, Unknown):
            return result
        if isinstance(value, LocalPath) and node.attr in _PATH_METHODS:
            return value
        innermost = base
        while isinstance(innermost, ast.Attribute):
            innermost = innermost.value
        if isinstance(innermost, ast.Name) and innermost.id in self.imports:
            return Unknown(_unparse(node))  # an attribute of a library (torch.float16), not a setting
        # args.model / opt.model_name / model_args.model_name_or_path: an argparse or dataclass-field default.
        defaults = self.argparse.get(node.attr)
        if defaults:
            default, where, at = defaults[-1]
            return self.value(default, where, at, d)
        fields = [info for info in self.classes.values() if node.attr in info.scope.assigns]
        if len(fields) == 1:
            found = self._class_attr(fields[0], node.attr, d)
            if found is not None:
                return found
        return ArgRef(node.attr)

    def _call_value(self, node: ast.Call, scope: Scope, line: int, d: int) -> Value:
        func = node.func
        qual = self.qualname(func, scope)
        if qual is None and isinstance(func, ast.Name) and func.id not in self.imports and \
                self._binding(func.id, scope, line)[0] is None:
            qual = func.id  # a builtin (open, str, dict)
        args = node.args
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if qual is not None:
            if qual in _PATH_CALLS:
                texts = [text_of(self.value(a, scope, line, d)) for a in args]
                known = all(t is not None for t in texts) and bool(texts)
                return LocalPath("/".join(t for t in texts if t is not None) if known else _unparse(node))
            if qual in _ENV_CALLS:
                default = args[1] if len(args) > 1 else keywords.get("default")
                return self.value(default, scope, line, d) if default is not None else Unknown(_unparse(node))
            if qual in _OPEN_CALLS and args:
                return FileHandle(self.value(args[0], scope, line, d))
            if qual in _LOADERS and (args or keywords):
                fmt, takes_path = _LOADERS[qual]
                source = self.value(args[0] if args else next(iter(keywords.values())), scope, line, d)
                if fmt == "same":
                    return source
                if isinstance(source, FileHandle):
                    return ConfigDoc(source.path, fmt, (), self.path)
                if takes_path and (text_of(source) is not None or isinstance(source, LocalPath)):
                    path = Const(source.text) if isinstance(source, LocalPath) else source
                    return ConfigDoc(path, fmt, (), self.path)
                if isinstance(source, ConfigDoc):
                    return source
                return Unknown(_unparse(node))
            if qual in ("str", "dataclasses.field", "field") or qual.endswith(".field"):
                target = keywords.get("default") if qual != "str" else (args[0] if args else None)
                return self.value(target, scope, line, d) if target is not None else Unknown(_unparse(node))
            if qual == "dict":
                return DictVal(tuple((k, self.value(v, scope, line, d)) for k, v in keywords.items()))
        if isinstance(func, ast.Attribute):
            owner = self.value(func.value, scope, line, d)
            method = func.attr
            if isinstance(owner, Const) and isinstance(owner.value, str) and method in _STR_METHODS:
                return self._str_method(owner.value, method, node, scope, line, d)
            if isinstance(owner, DictVal | ConfigDoc) and method == "get" and args:
                if isinstance(owner, ConfigDoc) and owner.fmt == "ini" and len(args) >= 2:
                    return subscript(subscript(owner, self.value(args[0], scope, line, d)),
                                     self.value(args[1], scope, line, d))
                key = self.value(args[0], scope, line, d)
                default = args[1] if len(args) > 1 else keywords.get("fallback", keywords.get("default"))
                got = subscript(owner, key)
                if isinstance(got, ConfigDoc) and default is not None:
                    return ConfigDoc(got.path, got.fmt, got.keys, got.origin, self.value(default, scope, line, d))
                if isinstance(got, Unknown) and default is not None:
                    return self.value(default, scope, line, d)
                return got
            if isinstance(owner, FileHandle) and method in ("read", "read_text"):
                return owner
            if isinstance(owner, LocalPath):
                if method in ("read_text", "open", "read_bytes"):
                    return FileHandle(Const(owner.text))
                if method in _PATH_METHODS:
                    return owner
        return Unknown(_unparse(node))

    def _str_method(self, text: str, method: str, node: ast.Call, scope: Scope, line: int, d: int) -> Value:
        args = [text_of(self.value(a, scope, line, d)) for a in node.args]
        if method == "format":
            if node.keywords and any(k.arg is None for k in node.keywords):
                return Unknown(_unparse(node))
            named = {k.arg: text_of(self.value(k.value, scope, line, d)) for k in node.keywords if k.arg}
            if any(a is None for a in args) or any(v is None for v in named.values()):
                return Unknown(_unparse(node))
            return _format(text, [a or "" for a in args], {k: v or "" for k, v in named.items()}, node)
        if any(a is None for a in args):
            return Unknown(_unparse(node))
        texts = [a or "" for a in args]
        try:
            result = getattr(text, method)(*texts)
        except (TypeError, ValueError):
            return Unknown(_unparse(node))
        return Const(result) if isinstance(result, str) else Unknown(_unparse(node))

    # --- matching -----------------------------------------------------------------------------------------

    def call_sites(self) -> Iterator[CallSite]:
        """Every call matching a signature, with its argument values; then every matching reference."""
        signatures = self.cat.signatures
        index = {id(sig): n for n, sig in enumerate(signatures)}
        interesting = {name for name, (qual, level, _) in self.imports.items()
                       if level == 0 and self.cat.is_root(qual.split(".", 1)[0])}
        local_roots = set(self.classes)
        for node, scope in self.calls:
            head = node.func
            while isinstance(head, ast.Attribute):
                head = head.value
            if not isinstance(head, ast.Name) or not (head.id in interesting or head.id in local_roots
                                                       or head.id in scope.assigns or head.id in self.module.assigns):
                continue
            qual = self.qualname(node.func, scope)
            if qual is None:
                continue
            sig = self.cat.match(qual)
            if sig is None:
                continue
            site = self._site(sig, index[id(sig)], qual, node, scope)
            if site is not None:
                yield site
        if any(self.imports[name][0].split(".", 1)[0] in self.cat.reference_roots for name in interesting):
            yield from self._references(index)

    def _references(self, index: dict[int, int]) -> Iterator[CallSite]:
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Attribute | ast.Name) or not isinstance(node.ctx, ast.Load):
                continue
            qual = self._plain_qualname(node)
            if qual is None:
                continue
            sig = self.cat.match(qual, reference=True)
            if sig is not None:
                yield CallSite(index[id(sig)], qual, node.lineno, Const(qual.rsplit(".", 1)[-1]), _unparse(node),
                               None, None, None)

    def _plain_qualname(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Attribute):
            base = self._plain_qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Name) and (imported := self.imports.get(node.id)) and imported[1] == 0:
            return imported[0]
        return None

    @staticmethod
    def _argument(node: ast.Call, position: int | None, keywords: tuple[str, ...]) -> ast.expr | None:
        for k in node.keywords:
            if k.arg in keywords:
                return k.value
        if position is not None and position < len(node.args):
            arg = node.args[position]
            if any(isinstance(a, ast.Starred) for a in node.args[:position + 1]):
                return None
            return arg
        return None

    def _arg(self, node: ast.Call, position: int | None, keywords: tuple[str, ...], scope: Scope,
             ) -> tuple[Value, str] | None:
        """An argument's value and text, also from a ``**dict`` whose keys are known."""
        arg = self._argument(node, position, keywords)
        if arg is not None:
            return self.value(arg, scope, node.lineno), _unparse(arg)
        for k in node.keywords:
            if k.arg is None:
                spread = self.value(k.value, scope, node.lineno)
                if isinstance(spread, DictVal):
                    for name in keywords:
                        found = spread.get(name)
                        if found is not None:
                            return found, f"**{_unparse(k.value)}"
        return None

    def _site(self, sig: Signature, n: int, qual: str, node: ast.Call, scope: Scope) -> CallSite | None:
        def kw(names: tuple[str, ...]) -> Value | None:
            found = self._arg(node, None, names, scope) if names else None
            return found[0] if found is not None else None

        for requirement in sig.requirements():
            found = self._arg(node, requirement.position, requirement.keywords, scope)
            if found is None:
                continue
            if not (isinstance(found[0], Const) and (found[0].value is None or found[0].value is False)):
                break
        else:
            if sig.requires is not None:
                return None  # built without pretrained weights
        for keyword, values in sig.exclude:
            excluding = kw((keyword,))
            if excluding is not None and text_of(excluding) in values:
                return None
        local = any(text_of(v) in values for keyword, values in sig.local_if if (v := kw((keyword,))) is not None)
        model: Value | None
        if sig.model_from == "name":
            model, expression = Const(qual.rsplit(".", 1)[-1]), _unparse(node.func)
        elif sig.model_from == "module":
            model, expression = Const(qual.rsplit(".", 1)[0]), _unparse(node.func)
        else:
            found = self._arg(node, sig.model.position, sig.model.keywords, scope)
            if found is None:
                if sig.model_from == "torch_hub" or (sig.string_only and sig.missing_model is None):
                    return None
                starred = (any(isinstance(a, ast.Starred) for a in node.args)
                           or any(k.arg is None for k in node.keywords))
                model = None
                expression = "**kwargs" if starred else (sig.missing_model or "")
            else:
                model, expression = found
                if sig.model_from == "torch_hub":
                    entry = self._arg(node, 1, ("model",), scope)
                    if entry is None:
                        return None
                    model = concat([model, Const("\0"), entry[0]])
                    expression = f"{expression}, {entry[1]}"
            if sig.string_only and not _stringish(model):
                return None
        return CallSite(n, qual, node.lineno, model, expression, kw(sig.revision), kw(sig.trust_remote_code),
                        kw(sig.use_safetensors), local)

    # --- facts for other files -------------------------------------------------------------------------------

    def module_value(self, name: str) -> Value:
        """What module-level ``name`` holds at the end of the module (what an importer sees)."""
        return self._name(name, self.module, 10**9, 0)

    def argparse_values(self) -> dict[str, Value]:
        """Every argparse default and dataclass-field default the module defines, by destination."""
        out: dict[str, Value] = {}
        for dest, defaults in self.argparse.items():
            default, where, at = defaults[-1]
            out[dest] = self.value(default, where, at)
        for info in self.classes.values():
            for attr, bindings in info.scope.assigns.items():
                if attr not in out and not attr.startswith("_"):
                    out[attr] = self._bound(attr, bindings[-1], info.scope, 0)
        return out


def _stringish(value: Value | None) -> bool:
    """Whether a value is (or may settle to) a string rather than an object built by the code."""
    if value is None:
        return False
    if isinstance(value, Choice):
        return all(_stringish(v) for v in value.options)
    return isinstance(value, LocalPath | ImportRef | ArgRef | ConfigDoc | Concat) or text_of(value) is not None


def _format(template: str, args: list[str], named: dict[str, str], node: ast.AST) -> Value:
    import string

    out: list[str] = []
    auto = 0
    try:
        for literal, field_name, spec, conversion in string.Formatter().parse(template):
            out.append(literal)
            if field_name is None:
                continue
            if spec or conversion not in (None, "s") or any(c in field_name for c in ".["):
                return Unknown(_unparse(node))
            if field_name == "":
                out.append(args[auto])
                auto += 1
            elif field_name.isdigit():
                out.append(args[int(field_name)])
            else:
                out.append(named[field_name])
    except (ValueError, IndexError, KeyError):
        return Unknown(_unparse(node))
    return Const("".join(out))


def subscript(value: Value, key: Value) -> Value:
    """``value[key]`` for the values that can be indexed statically."""
    k = key.value if isinstance(key, Const) else None
    if isinstance(value, DictVal) and isinstance(k, str):
        return value.get(k) or Unknown(f"[{k!r}]")
    if isinstance(value, SeqVal) and isinstance(k, int) and not isinstance(k, bool):
        try:
            return value.items[k]
        except IndexError:
            return Unknown(f"[{k}]")
    if isinstance(value, ConfigDoc) and isinstance(k, str | int) and not isinstance(k, bool):
        return ConfigDoc(value.path, value.fmt, (*value.keys, str(k)), value.origin)
    if isinstance(value, ImportRef) and isinstance(k, str | int) and not isinstance(k, bool) and value.name:
        return ImportRef(value.module, value.name, value.level, value.origin, (*value.attrs, f"[{k}"))
    if isinstance(value, Choice):
        return Choice(tuple(subscript(o, key) for o in value.options))
    return Unknown("subscript")


def attribute(value: Value, attr: str) -> Value:
    """``value.attr`` for the values whose attributes are known: config documents read as attribute
    dictionaries (OmegaConf, EasyDict) and another module's names."""
    if isinstance(value, ConfigDoc):
        return ConfigDoc(value.path, value.fmt, (*value.keys, attr), value.origin)
    if isinstance(value, ImportRef):
        if value.name is None:
            return ImportRef(value.module, attr, value.level, value.origin)
        return ImportRef(value.module, value.name, value.level, value.origin, (*value.attrs, f".{attr}"))
    return Unknown(attr)


def _literal_strings(node: ast.expr) -> tuple[str, ...] | None:
    if isinstance(node, ast.Set | ast.List | ast.Tuple) and node.elts and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return tuple(e.value for e in node.elts)  # type: ignore[attr-defined]
    return None


def _allowed_values(body: list[ast.stmt], params: dict[str, ast.expr | None]) -> dict[str, tuple[str, ...]]:
    """Parameters a function's first statements restrict to string literals: ``assert p in {...}``, or
    ``if p not in {...}: raise ...``."""
    found: dict[str, tuple[str, ...]] = {}
    for statement in body[:8]:
        test, negated = None, False
        if isinstance(statement, ast.Assert):
            test = statement.test
        elif (isinstance(statement, ast.If) and not statement.orelse and statement.body
              and isinstance(statement.body[-1], ast.Raise)):
            test, negated = statement.test, True
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name)
                and test.left.id in params):
            continue
        expected = ast.NotIn if negated else ast.In
        values = _literal_strings(test.comparators[0])
        if isinstance(test.ops[0], expected) and values:
            found[test.left.id] = values
    return found
