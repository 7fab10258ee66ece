"""Which samples a data set's pipeline skipped, counted where the data set
lives, so data loader workers' skips reach the main process."""
from collections import Counter

import torch


class RecordsSkips:
    """Mixin for an mmengine ``BaseDataset``: count, per sample, the times
    its pipeline returned None, which is how
    ``LoadImageFromFile(skip_bad_files=True)`` skips an unreadable file
    (``BaseDataset`` then draws another sample in training).

    The counts are one int32 tensor in shared memory, made when the data
    list is loaded (in the main process, before data loader workers
    start), so every worker's skips land in the same record. With
    ``lazy_init=True`` a worker that loads the list first counts in its
    own copy.
    """

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        self._skips = torch.zeros(len(self), dtype=torch.int32)
        self._skips.share_memory_()

    def prepare_data(self, idx):
        data = super().prepare_data(idx)
        if data is None:
            self._skips[idx] += 1
        return data

    def skipped_files(self) -> Counter:
        """``img_path -> times`` skipped, over every process that loaded
        this data set's samples."""
        if not self._fully_initialized:
            return Counter()
        return Counter({self.get_data_info(i)['img_path']: int(n)
                        for i, n in enumerate(self._skips.tolist()) if n})
