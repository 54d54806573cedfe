"""Shared serving code: the suite MLServer runtime, a local MLServer, V2 requests.

Nothing heavy is imported here; import the submodules you need
(``components._serving.server``, ``.v2``, ``.settings``, ``.models``).
"""
