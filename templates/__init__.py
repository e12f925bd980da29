"""edgesdk's code-generation templates, installed as the package ``edgesdk.templates``.

``kotlin/`` renders the wrapper class, ``android/`` the Gradle sample app. Rendering rules
(``*.jinja`` rendered, the rest copied, templated paths, ``dot_`` for dotfiles) are
documented in :mod:`edgesdk.codegen.render`.
"""
