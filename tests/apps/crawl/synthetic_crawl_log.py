#!/usr/bin/env python3
"""Writes a synthetic crawl log for measuring a resume: OUT/pages.jsonl with N records and
OUT/links.tsv with 5 links per page (a binary tree of new pages under the seed, plus 3 links
back to pages already fetched), over the seed's origin. OUT/checkpoint.json must already be
there (a one-page crawl of the seed with the same options makes it); it is marked not
complete, so that --resume loads the log. About N more URLs (the tree's next level) are left in the frontier.

    synthetic_crawl_log.py OUT SEED N
"""
import json
import sys


def main():
    out, seed, n = sys.argv[1], sys.argv[2].rstrip("/"), int(sys.argv[3])

    def url(i):
        return seed + "/" if i == 0 else f"{seed}/p/{i}"

    with open(f"{out}/pages.jsonl", "w") as pages, open(f"{out}/links.tsv", "w") as links:
        for i in range(n):
            depth = (i + 1).bit_length() - 1
            pages.write(f'{{"url":"{url(i)}","status":200,"depth":{depth},"content_type":"text/html",'
                        f'"bytes":2000,"links":5,"seconds":0.01,"rank":1,"attempts":1}}\n')
            u = url(i)
            for j in (2 * i + 1, 2 * i + 2, (i * 7919) % n, (i * 104729 + 1) % n, i // 2):
                links.write(f"{u}\t{url(j)}\ta\n")
    with open(f"{out}/checkpoint.json") as f:
        checkpoint = json.load(f)
    checkpoint.update(complete=False, pages=n)
    with open(f"{out}/checkpoint.json", "w") as f:
        json.dump(checkpoint, f)


if __name__ == "__main__":
    main()
