from loratui.cli import main

if __name__ == "__main__":   # guarded: multiprocessing (forkserver/spawn) imports this module
    raise SystemExit(main())
