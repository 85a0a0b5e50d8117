"""Fuzzing of the scenario and experiment languages (issue 13, item 1; docs/RELIABILITY.md).

``corpus`` finds the shipped files to mutate, ``mutate`` turns a seed file and a few integers
into a mutated case (files to write), ``oracle`` puts a case through the real entry points and
says whether the outcome keeps the contract: exit 0, or exit 2 with one located line per
problem, never a traceback, within a time bound; and every accepted file runs.

The same code drives the CI tests of this package (hypothesis draws the integers) and the long
run of ``benchmarks/fuzz.py`` (a seeded PRNG draws them).
"""
