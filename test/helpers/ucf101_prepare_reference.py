#!/usr/bin/env python3
"""The tutorial's step 2.1.2 as PaddleVideo's data/ucf101/extract_rawframes.py and build_ucf101_file_list.py do it
(SPEC section 7), restated for the tests with only Debian's python3-opencv: the same globs, folder names
(`split('.')[0]`), OpenCV reads (CAP_PROP_FRAME_COUNT reads, cv2.imwrite at its default quality 95), annotation
parsing (`strip().split(' ')`, classInd id - 1), frame counts (the scripts count the names starting with 'i':
they pass the string 'img_' where a tuple of prefixes was meant) and output lines (os.path.join(abspath(root), item)).
Checked against the scripts themselves (PaddleVideo ed245e9) on the test's data set: identical trees and lists.

Usage: ucf101_prepare_reference.py extract SRC_DIR OUT_DIR LEVEL EXT
       ucf101_prepare_reference.py lists DATASET_DIR ROOT LEVEL FORMAT OUT_DIR   (reads DATASET_DIR/annotations)
"""
import fnmatch
import glob
import os
import sys

import cv2


def extract(src, out, level, ext):
    pattern = '/*/*.' if level == 2 else '/*.'
    for full in sorted(glob.glob(src + pattern + ext)):
        rel = '/'.join(full.split('/')[-level:])
        target = os.path.join(out, rel.split('.')[0])
        os.makedirs(target, exist_ok=True)
        cap = cv2.VideoCapture(full)
        for i in range(int(cap.get(cv2.CAP_PROP_FRAME_COUNT))):
            ok, frame = cap.read()
            if ok:
                cv2.imwrite('{}/img_{:05d}.jpg'.format(target, i + 1), frame)


def lists(dataset, root, level, fmt, out):
    pattern = os.path.join(root, *(['*'] * level))
    if fmt == 'rawframes':
        info = {'/'.join(f.split('/')[-level:]): len(fnmatch.filter(os.listdir(f), 'i*')) for f in glob.glob(pattern)}
    else:
        info = {os.path.relpath(f.split('.')[0], root): -1 for f in glob.glob(pattern)}
    ann = os.path.join(dataset, 'annotations')
    with open(os.path.join(ann, 'classInd.txt')) as f:
        classes = {row[1]: int(row[0]) - 1 for row in (line.strip().split() for line in f) if row}

    def records(path):
        with open(path) as f:
            for line in f:
                first = line.strip().split(' ')[0]
                vid = '/'.join(first.split('.')[0].split('/')[-level:])
                yield vid, classes[first.split('/')[0]]

    base = os.path.abspath(root)
    for n in (1, 2, 3):
        for name, split in (('train', 'trainlist'), ('val', 'testlist')):
            lines = []
            for vid, label in records(os.path.join(ann, '{}{:02d}.txt'.format(split, n))):
                if vid not in info:
                    continue
                item = '{} {} {}\n'.format(vid, info[vid], label) if info[vid] > 0 else '{} {}\n'.format(vid, label)
                lines.append(os.path.join(base, item))
            with open(os.path.join(out, 'ucf101_{}_split_{}_{}.txt'.format(name, n, fmt)), 'w') as f:
                f.writelines(lines)


if __name__ == '__main__':
    if sys.argv[1] == 'extract':
        extract(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        lists(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
