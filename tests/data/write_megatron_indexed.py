#!/usr/bin/env python3
"""Writes a Megatron mmap indexed dataset (PREFIX.bin + PREFIX.idx, "MMIDIDX" version 1) with numpy and struct
only, following Megatron-LM's published layout (megatron/core/datasets/indexed_dataset.py: IndexedDatasetBuilder,
_IndexWriter). The tests compare mtnlg's writer with these files byte for byte and read them with mtnlg's reader.

usage: write_megatron_indexed.py PREFIX DTYPE [DOC ...]
  DTYPE  a Megatron dtype name: uint8 int8 int16 int32 int64 float64 float32 uint16
  DOC    one document: its sequences separated by ';', each sequence's tokens by ','; '' is one empty sequence.
         "1,2,3" is a document of one sequence (GPT data); "1,2;3" a document of two sequences.
"""
import struct
import sys

import numpy

_INDEX_HEADER = b"MMIDIDX\x00\x00"

# Megatron's DType codes.
_CODES = {"uint8": 1, "int8": 2, "int16": 3, "int32": 4, "int64": 5, "float64": 6, "float32": 7, "uint16": 8}


def write(prefix, dtype_name, documents):
    dtype = getattr(numpy, dtype_name)
    sequence_lengths = []
    document_indices = [0]
    # IndexedDatasetBuilder: add_item writes each sequence's tokens; end_document closes a document.
    with open(prefix + ".bin", "wb") as data_file:
        for document in documents:
            for sequence in document:
                array = numpy.array(sequence, dtype=dtype)
                data_file.write(array.tobytes(order="C"))
                sequence_lengths.append(array.size)
            document_indices.append(len(sequence_lengths))

    # _IndexWriter: header, version, dtype code, counts, then lengths (int32), pointers (int64), document
    # indices (int64).
    itemsize = numpy.dtype(dtype).itemsize
    pointers = []
    at = 0
    for length in sequence_lengths:
        pointers.append(at)
        at += length * itemsize
    with open(prefix + ".idx", "wb") as idx:
        idx.write(_INDEX_HEADER)
        idx.write(struct.pack("<Q", 1))
        idx.write(struct.pack("<B", _CODES[dtype_name]))
        idx.write(struct.pack("<Q", len(sequence_lengths)))
        idx.write(struct.pack("<Q", len(document_indices)))
        idx.write(numpy.array(sequence_lengths, dtype=numpy.int32).tobytes(order="C"))
        idx.write(numpy.array(pointers, dtype=numpy.int64).tobytes(order="C"))
        idx.write(numpy.array(document_indices, dtype=numpy.int64).tobytes(order="C"))


def parse_document(text):
    return [[int(t) for t in seq.split(",") if t != ""] for seq in text.split(";")]


def main(argv):
    if len(argv) < 2 or argv[1] not in _CODES:
        sys.exit(__doc__)
    write(argv[0], argv[1], [parse_document(d) for d in argv[2:]])


if __name__ == "__main__":
    main(sys.argv[1:])
