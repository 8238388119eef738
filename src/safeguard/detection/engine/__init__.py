"""The pure evaluation core of detection: Sigma rules and UEBA over plain event dicts.

Imports no Django (ARCHITECTURE.md, Layers). The Django side feeds it integrated audit events
in sequence order and persists what it returns; see ``contracts``.
"""
