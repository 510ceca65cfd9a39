"""The one train/test split: training and evaluation must agree on which rows are held out."""

import pandas as pd
from sklearn.model_selection import train_test_split


def split(frame: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test), the same rows for the same seed."""
    train, test = train_test_split(frame, test_size=test_size, random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)
