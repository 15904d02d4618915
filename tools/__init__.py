"""Course tooling, apart from nnlib. Run each module as a script:

python tools/build_site.py site/
"""
