#!/usr/bin/env python3
"""A Python reference of PaddleVideo's PP-TSN test/valid preprocessing, for pptsn-web's parity test.

Reproduces paddlevideo/loader/pipelines (VideoDecoder backend cv2 -> Sampler(valid_mode, select_left) ->
Scale(backend cv2: cv2.resize INTER_LINEAR) -> CenterCrop(do_round=False) | TenCrop | GroupFullResSample ->
Image2Array -> Normalization) with numpy + OpenCV only (no paddle), and writes the network input as a float32
.npy of shape [1, T*C, 3, 224, 224] (PaddleVideo's layout).

Frames come from cv2.VideoCapture (PaddleVideo's cv2 backend: BGR -> RGB) or, with --decoder ffmpeg, from the
system ffmpeg's rgb24 output (what decord gives); with --decoder rawframes VIDEO is a rawframes folder read with PIL. Only the sampled frames are kept in memory.

Usage: paddle_reference.py VIDEO OUT.npy [--preset accurate|fast] [--segments T] [--crops center|three|ten]
       [--scale fixed-ratio|keep-ratio] [--decoder cv2|ffmpeg]
Prints one JSON line: frame count, indices, scaled size, output shape.
Needs numpy and cv2 (Debian: apt-get install python3-opencv, for /usr/bin/python3); rawframes need PIL (python3-pil).
"""
import argparse
import json
import subprocess
import sys

import cv2
import numpy as np

PRESETS = {
    'accurate': dict(segments=25, crops='ten', scale='fixed-ratio', do_round=False),
    'fast': dict(segments=8, crops='center', scale='keep-ratio', do_round=True),
}
MEAN = np.array([0.485, 0.456, 0.406]).reshape([3, 1, 1]).astype(np.float32)
STD = np.array([0.229, 0.224, 0.225]).reshape([3, 1, 1]).astype(np.float32)


def sample_valid(frames_len, num_seg):
    """Sampler(valid_mode=True, select_left=True), format 'video'."""
    if frames_len > num_seg:
        average_dur_float = frames_len / num_seg
        offsets = np.array([int(average_dur_float / 2.0 + average_dur_float * x) for x in range(num_seg)])
    else:
        offsets = np.zeros(shape=(num_seg, ))
    return [int(x % frames_len) for x in offsets]


def decode_cv2(path, indices):
    """PaddleVideo VideoDecoder(backend='cv2'): every frame read with cap.read(), frame[:, :, ::-1] (BGR->RGB).
    Two passes so memory holds only the wanted frames: count, then keep."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise SystemExit(f'cv2 cannot open {path}')
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    return count, (lambda idx: _read_cv2(path, idx))


def _read_cv2(path, indices):
    want = set(indices)
    got = {}
    cap = cv2.VideoCapture(path)
    n = 0
    while len(got) < len(want):
        ret, frame = cap.read()
        if not ret:
            break
        if n in want:
            got[n] = np.ascontiguousarray(frame[:, :, ::-1])
        n += 1
    cap.release()
    return [got[i] for i in indices]


def probe_packets(path):
    """decord >= 0.3.8 / ffmpeg: L = frames the edit list presents (packets not flagged D), display size."""
    r = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries',
                        'packet=flags:stream=width,height:stream_side_data=rotation', '-of', 'json', path],
                       capture_output=True, check=True)
    j = json.loads(r.stdout)
    s = j['streams'][0]
    count = sum(1 for p in j.get('packets', []) if 'D' not in p.get('flags', ''))
    rot = next((int(d['rotation']) for d in s.get('side_data_list', []) if 'rotation' in d), 0)
    w, h = int(s['width']), int(s['height'])
    return (count, h, w) if rot % 180 else (count, w, h)


def decode_ffmpeg(path):
    count, w, h = probe_packets(path)

    def read(indices):
        want = sorted(set(indices))
        sel = '+'.join(f'eq(n\\,{i})' for i in want)
        # ffmpeg's default autorotation, like decord >= 0.3.8 (SPEC section 4).
        r = subprocess.run(['ffmpeg', '-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0',
                            '-vf', f'select={sel},scale=in_color_matrix=bt601,format=rgb24', '-fps_mode', 'passthrough',
                            '-f', 'rawvideo', 'pipe:1'], capture_output=True, check=True)
        frames = np.frombuffer(r.stdout, np.uint8).reshape(-1, h, w, 3)
        got = {i: frames[min(k, len(frames) - 1)] for k, i in enumerate(want)}
        return [got[i] for i in indices]

    return count, read


def decode_rawframes(frame_dir, num_frames=None):
    """FrameDataset + Sampler(format='frame'): L = num_frames from the list (else the folder's img_*.jpg count),
    frame index idx read from img_{idx+1:05}.jpg with PIL's Image.open(...).convert('RGB')."""
    import os
    from PIL import Image
    count = num_frames if num_frames else len([n for n in os.listdir(frame_dir) if n.startswith('img_') and n.endswith('.jpg')])

    def read(indices):
        return [np.asarray(Image.open(os.path.join(frame_dir, 'img_{:05}.jpg'.format(i + 1))).convert('RGB')) for i in indices]

    return count, read


def scale(img, short_size, fixed_ratio, do_round):
    """Scale(short_size, fixed_ratio, do_round, backend='cv2'); keep_ratio None -> the cv2.resize branch."""
    h, w, _ = img.shape
    if (w <= h and w == short_size) or (h <= w and h == short_size):
        return img
    if w <= h:
        ow = short_size
        if fixed_ratio:
            oh = int(short_size * 4.0 / 3.0)
        else:
            scale_factor = short_size / w
            oh = int(h * float(scale_factor) + 0.5) if do_round else int(h * short_size / w)
            ow = int(w * float(scale_factor) + 0.5) if do_round else short_size
    else:
        oh = short_size
        if fixed_ratio:
            ow = int(short_size * 4.0 / 3.0)
        else:
            scale_factor = short_size / h
            oh = int(h * float(scale_factor) + 0.5) if do_round else short_size
            ow = int(w * float(scale_factor) + 0.5) if do_round else int(w * short_size / h)
    return cv2.resize(np.asarray(img), (ow, oh), interpolation=cv2.INTER_LINEAR)


def crop(img, x, y, t):
    return img[y:y + t, x:x + t]


def center_crop(imgs, t):
    h, w, _ = imgs[0].shape
    x1, y1 = (w - t) // 2, (h - t) // 2
    return [crop(img, x1, y1, t) for img in imgs]


def ten_crop(imgs, t):
    h, w, _ = imgs[0].shape
    w_step, h_step = (w - t) // 4, (h - t) // 4
    offsets = [(0, 0), (4 * w_step, 0), (0, 4 * h_step), (4 * w_step, 4 * h_step), (2 * w_step, 2 * h_step)]
    out = []
    for x, y in offsets:
        c = [crop(img, x, y, t) for img in imgs]
        out.extend(c)
        out.extend([ci[:, ::-1] for ci in c])  # Image.FLIP_LEFT_RIGHT
    return out


def three_crop(imgs, t):
    """GroupFullResSample(crop_size, flip=False): left, right, centre at the vertical middle."""
    h, w, _ = imgs[0].shape
    w_step, h_step = (w - t) // 4, (h - t) // 4
    out = []
    for x, y in [(0, 2 * h_step), (4 * w_step, 2 * h_step), (2 * w_step, 2 * h_step)]:
        out.extend([crop(img, x, y, t) for img in imgs])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('video')
    ap.add_argument('out')
    ap.add_argument('--preset', default='accurate', choices=sorted(PRESETS))
    ap.add_argument('--segments', type=int)
    ap.add_argument('--crops', choices=['center', 'three', 'ten'])
    ap.add_argument('--scale', choices=['fixed-ratio', 'keep-ratio'])
    ap.add_argument('--decoder', default='cv2', choices=['cv2', 'ffmpeg', 'rawframes'])
    ap.add_argument('--num-frames', type=int, help='rawframes: L from the list (default: count img_*.jpg)')
    a = ap.parse_args()
    cfg = dict(PRESETS[a.preset])
    if a.segments:
        cfg['segments'] = a.segments
    if a.crops:
        cfg['crops'] = a.crops
    if a.scale:
        cfg['scale'] = a.scale
        cfg['do_round'] = a.scale == 'keep-ratio'

    if a.decoder == 'rawframes':
        count, read = decode_rawframes(a.video, a.num_frames)
    else:
        count, read = decode_cv2(a.video, None) if a.decoder == 'cv2' else decode_ffmpeg(a.video)
    indices = sample_valid(count, cfg['segments'])
    imgs = read(indices)
    imgs = [scale(img, 256, cfg['scale'] == 'fixed-ratio', cfg['do_round']) for img in imgs]
    scaled = imgs[0].shape
    imgs = {'center': center_crop, 'three': three_crop, 'ten': ten_crop}[cfg['crops']](imgs, 224)
    # Image2Array (tchw) + Normalization, in float32 as PaddleVideo.
    t_imgs = np.stack(imgs).astype('float32').transpose(0, 3, 1, 2)
    norm = t_imgs / 255.0
    norm -= MEAN
    norm /= STD
    out = norm[np.newaxis].astype(np.float32)
    np.save(a.out, np.ascontiguousarray(out))
    print(json.dumps({'frame_count': count, 'indices': indices, 'scaled': [scaled[1], scaled[0]], 'shape': list(out.shape)}))


if __name__ == '__main__':
    sys.exit(main())
