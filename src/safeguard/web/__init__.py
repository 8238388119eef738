"""The web shell: base templates, vendored static assets, UI components, API plumbing.

It is the floor of the layers and imports no domain app.
"""
