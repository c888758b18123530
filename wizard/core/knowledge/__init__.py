"""The knowledge base: releases, CUDA driver floors, GPU catalog, mirrors (data in wizard/data)."""
