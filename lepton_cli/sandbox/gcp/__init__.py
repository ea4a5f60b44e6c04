"""The sandbox's Google Cloud emulators: Compute Engine v1 REST (``compute``, the project's
own) and Cloud Storage (``storage``). Both are plain WSGI applications built by ``make_app()``,
driven in tests only through the official google-cloud SDKs (DESIGN §8)."""
