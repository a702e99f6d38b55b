"""The converter pipeline: .tflite bytes -> read -> lower -> plan -> pack -> blob bytes."""

from __future__ import annotations

from dataclasses import dataclass

from .lowering import LoweredModel, lower
from .pack import pack
from .plan import MemoryPlan, plan_memory
from .tflite_reader import Graph, read_tflite


@dataclass
class Conversion:
    graph: Graph
    model: LoweredModel
    plan: MemoryPlan
    blob: bytes


def convert(tflite: bytes) -> Conversion:
    graph = read_tflite(tflite)
    model = lower(graph)
    plan = plan_memory(model)
    return Conversion(graph, model, plan, pack(model, plan))
