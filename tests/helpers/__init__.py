"""Code the test modules (and bench/) share; the fixtures stay in tests/conftest.py."""
