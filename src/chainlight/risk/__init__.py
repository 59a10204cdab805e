"""Corruption risk mapping: port and process risk registers, evidence-driven port scores, the
port integrity benchmark, incident reports with k-anonymity, and country accountability tiers.

See docs/risk.md for the model, its formula and what each view shows.
"""
