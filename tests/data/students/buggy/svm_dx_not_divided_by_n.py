"""Multiclass SVM loss (scalar loops) whose dx is not divided by N.

BUG: svm_loss averages the loss over the batch but returns the summed gradient (analytic =
numeric x N).
EXPECT: layer=svm_loss diagnosis="N = batch size|missing division"
"""
import numpy as np


def svm_loss(x, y):
    num_train, num_classes = x.shape
    loss = 0.0
    dx = np.zeros(x.shape)
    for i in range(num_train):
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = x[i, j] - x[i, y[i]] + 1
            if margin > 0:
                loss += margin
                dx[i, j] += 1
                dx[i, y[i]] -= 1
    loss /= num_train
    return loss, dx
