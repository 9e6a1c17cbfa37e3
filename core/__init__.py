"""The base every package builds on: typed settings, the two error tiers, logging.

Nothing here imports chatbot/, ingest/, index/ or ui/; they all import from here.
"""
