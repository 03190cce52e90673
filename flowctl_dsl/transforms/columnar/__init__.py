"""Columnar execution: records travel as ``pyarrow.RecordBatch`` elements (one per ledger).

``rows`` converts between batches and the reference records, ``expressions`` compiles IR
expressions to ``pyarrow.compute`` expressions, ``relational`` holds the batch versions of
``filter``/``select``/``derive``/``limit``.
"""
