r"""Assignment 1's naive SVM loss whose regularization gradient forgets the factor 2.

BUG: svm_loss_naive adds reg * np.sum(W * W) to the loss but reg * W (not 2 * reg * W) to dW.
GRADE: exit=1 fail=svm_loss_naive:W diagnosis="reg \* W where the loss"
"""
import numpy as np


def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += reg * W
    return loss, dW
