"""taskforms"""
