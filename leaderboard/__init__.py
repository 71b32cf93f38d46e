"""Starboard's domain: ranking, periods, ratios, coaching, badges, recovery, charts.

Nothing in this package imports Streamlit.
"""
