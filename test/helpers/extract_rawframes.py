#!/usr/bin/env python3
"""Extracts a video to PaddleVideo rawframes as the tutorial does (PaddleVideo data/ucf101/extract_rawframes.py):
every frame read with cv2.VideoCapture and written with cv2.imwrite as OUT_DIR/img_00001.jpg, img_00002.jpg, ...
(OpenCV's default JPEG quality 95). Prints the frame count.
Usage: extract_rawframes.py VIDEO OUT_DIR
"""
import os
import sys

import cv2


def main():
    video, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    cap = cv2.VideoCapture(video)
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n += 1
        cv2.imwrite(os.path.join(out, 'img_{:05d}.jpg'.format(n)), frame)
    cap.release()
    print(n)


if __name__ == '__main__':
    main()
