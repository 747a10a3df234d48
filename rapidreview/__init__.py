"""Rapid Review: a safeguarding partnership's statutory Rapid Review on a BPMN engine."""

__version__ = "0.2.0"
