"""Test servers on 127.0.0.1, one pytest fixture each (started once per session)."""
