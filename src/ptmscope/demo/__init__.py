"""The offline demo: a corpus ptmscope generates itself, served by the replay server."""
