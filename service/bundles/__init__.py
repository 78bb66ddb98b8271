"""bundles"""
