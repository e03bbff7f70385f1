#!/usr/bin/env python3
"""Megatron-LM's GPT samples for one epoch of an indexed dataset, with numpy only: the reference that the reader's
first epoch is compared with (indexed_reader_test.cpp, MatchesMegatronFirstEpoch).

It follows Megatron's published code step by step: the split (blended_megatron_dataset_config.py:
parse_and_normalize_split, convert_split_vector_to_split_matrix; blended_megatron_dataset_builder.py:
_build_megatron_dataset_splits), then GPTDataset._build_document_sample_shuffle_indices with
num_samples = one epoch's worth (so _get_num_epochs gives 1): _build_document_index, helpers.cpp
build_sample_idx (ported below), _build_shuffle_index, all from one numpy.random.RandomState(seed); then
_query_document_sample_shuffle_indices for every sample.

usage: megatron_gpt_samples.py PREFIX SPLIT SEQ_LEN SEED
prints one line per sample: "<split> <index> <seq_len + 1 tokens>", train, valid, test in order; an empty split
prints "<split> empty".
"""
import functools
import re
import struct
import sys

import numpy

_DTYPES = {1: numpy.uint8, 2: numpy.int8, 3: numpy.int16, 4: numpy.int32, 5: numpy.int64, 6: numpy.float64,
           7: numpy.float32, 8: numpy.uint16}


def read_index(prefix):
    with open(prefix + ".idx", "rb") as stream:
        assert stream.read(9) == b"MMIDIDX\x00\x00"
        assert struct.unpack("<Q", stream.read(8))[0] == 1
        dtype = _DTYPES[struct.unpack("<B", stream.read(1))[0]]
        sequence_count = struct.unpack("<Q", stream.read(8))[0]
        document_count = struct.unpack("<Q", stream.read(8))[0]
        offset = stream.tell()
    buffer = numpy.memmap(prefix + ".idx", mode="r", order="C")
    lengths = numpy.frombuffer(buffer, dtype=numpy.int32, count=sequence_count, offset=offset)
    pointers = numpy.frombuffer(buffer, dtype=numpy.int64, count=sequence_count, offset=offset + lengths.nbytes)
    del document_count
    return dtype, lengths, pointers


def split_matrix(split):
    weights = list(map(float, re.findall(r"[.0-9]+", split)))
    weights = weights + [0.0 for _ in range(3 - len(weights))]
    w = numpy.array(weights, dtype=numpy.float64)
    weights = (w / numpy.sum(w)).tolist()
    expansion = functools.reduce(lambda a, b: a + [a[len(a) - 1] + b], [[0], *weights])
    bookends = list(zip(expansion[:-1], expansion[1:]))
    return [None if end <= beg else (beg, end) for beg, end in bookends]


def build_sample_idx(sizes, document_idx, seq_length, num_epochs, tokens_per_epoch):
    # helpers.cpp, add_extra_token_to_sequence = 1, drop_last_partial_sequence = True.
    num_samples = (num_epochs * tokens_per_epoch - 1) // seq_length
    sample_idx = numpy.zeros((num_samples + 1, 2), dtype=numpy.int64)
    document_idx_index = 0
    doc_offset = 0
    sample_idx_index = 1
    while sample_idx_index <= num_samples:
        remaining_seq_length = seq_length + 1
        while remaining_seq_length != 0:
            document_index = document_idx[document_idx_index]
            document_length = int(sizes[document_index]) - doc_offset
            remaining_seq_length -= document_length
            if remaining_seq_length <= 0:
                doc_offset += remaining_seq_length + document_length - 1
                remaining_seq_length = 0
            else:
                if document_idx_index == len(document_idx) - 1:
                    assert sample_idx_index == num_samples
                    doc_offset = int(sizes[document_idx[document_idx_index]]) - 1
                    break
                document_idx_index += 1
                doc_offset = 0
        sample_idx[sample_idx_index] = (document_idx_index, doc_offset)
        sample_idx_index += 1
    return sample_idx


def samples(prefix, split, seq_length, seed):
    dtype, lengths, pointers = read_index(prefix)
    data = numpy.memmap(prefix + ".bin", mode="r", order="C")
    itemsize = numpy.dtype(dtype).itemsize

    def get(idx, offset=0, length=None):
        if length is None:
            length = int(lengths[idx]) - offset
        return numpy.frombuffer(data, dtype=dtype, count=length, offset=int(pointers[idx]) + offset * itemsize)

    out = []
    num_elements = len(lengths)
    for name, bookends in zip(["train", "valid", "test"], split_matrix(split)):
        if bookends is None:
            out.append(f"{name} empty")
            continue
        beg = int(round(bookends[0] * float(num_elements)))
        end = int(round(bookends[1] * float(num_elements)))
        indices = numpy.arange(start=beg, stop=end, step=1, dtype=numpy.int32)
        tokens_per_epoch = int(numpy.sum(lengths[indices]))
        if len(indices) == 0 or tokens_per_epoch == 0:
            out.append(f"{name} empty")
            continue
        num_samples = (tokens_per_epoch - 1) // seq_length  # exactly one epoch: _get_num_epochs gives 1
        random_state = numpy.random.RandomState(seed)
        document_index = numpy.mgrid[0:1, 0 : len(indices)][1]
        document_index[:] = indices
        document_index = document_index.reshape(-1).astype(numpy.int32)
        random_state.shuffle(document_index)
        sample_index = build_sample_idx(lengths, document_index, seq_length, 1, tokens_per_epoch)
        shuffle_index = numpy.arange(start=0, stop=sample_index.shape[0] - 1, step=1, dtype=numpy.uint32)
        random_state.shuffle(shuffle_index)
        for idx in range(num_samples):
            i = shuffle_index[idx]
            doc_beg, off_beg = sample_index[i]
            doc_end, off_end = sample_index[i + 1]
            if doc_beg == doc_end:
                parts = [get(document_index[doc_beg], offset=off_beg, length=off_end - off_beg + 1)]
            else:
                parts = []
                for j in range(doc_beg, doc_end + 1):
                    offset = 0 if j > doc_beg else off_beg
                    length = None if j < doc_end else off_end + 1
                    parts.append(get(document_index[j], offset=offset, length=length))
            text = numpy.concatenate(parts, dtype=numpy.int64)
            assert len(text) == seq_length + 1
            out.append(f"{name} {idx} " + " ".join(map(str, text.tolist())))
    return out


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    print("\n".join(samples(argv[0], argv[1], int(argv[2]), int(argv[3]))))


if __name__ == "__main__":
    main(sys.argv[1:])
