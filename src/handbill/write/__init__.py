"""Write a finished `Book` out: the EPUB zip and the atomic output file or folder (`epub`),
the navigation document (`nav`), and the Kobo edition's document rewriting (`kepub`).

In: the `Book` and its `ContentDocument` stream from the assembler. Out: EPUB bytes in a file,
a folder or a stream. Nothing is re-exported here, so importing `kepub` does not load ebooklib.
"""
